import type { components } from '../../generated/api';
import type { OperationQuery } from './operation-query';

export type RequestLogEntry = components['schemas']['RequestLogEntry'];
export type RequestLogListQuery = OperationQuery<'listRequestLogs'>;
export type RequestLogFieldRef = RequestLogEntry['errors'][number];

/** One request as the request log buffers it before writing: the entry less what the database assigns. */
export type NewRequestLogEntry = Omit<RequestLogEntry, 'id'>;
