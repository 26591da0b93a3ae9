import type { operations, webhooks } from '../../generated/api';
import type { ApiVersions } from './api-versions';
import type { JsonObject, VersionedRequest } from './version-change';

/** Moves requests, responses and webhook payloads between the latest shape and a caller's version. */
export interface VersionTranslator {
  /** In place, oldest change first: the request as the latest version's handler expects it. */
  requestUp(version: string, operationId: keyof operations, request: VersionedRequest): void;
  /** Newest change first; bodies of operations no change touches come back as they are. */
  responseDown(version: string, operationId: keyof operations, status: number, body: unknown): unknown;
  webhookDown(version: string, eventType: keyof webhooks, payload: unknown): unknown;
}

export function createVersionTranslator(versions: ApiVersions): VersionTranslator {
  return {
    requestUp: (version, operationId, request) => {
      for (const change of versions.changesAfter(version)) change.requestUp?.[operationId]?.(request);
    },
    responseDown: (version, operationId, status, body) => {
      let moved = body;
      for (const change of [...versions.changesAfter(version)].reverse()) {
        const down = change.responseDown?.[operationId];
        if (down) moved = down(moved as JsonObject, status);
      }
      return moved;
    },
    webhookDown: (version, eventType, payload) => {
      let moved = payload;
      for (const change of [...versions.changesAfter(version)].reverse()) {
        const down = change.webhookDown?.[eventType];
        if (down) moved = down(moved as JsonObject);
      }
      return moved;
    },
  };
}
