import { LATEST_API_VERSION, SUPPORTED_API_VERSIONS } from '../../generated/api-versions';
import { ValidationError } from '../utils/errors';

export { LATEST_API_VERSION, SUPPORTED_API_VERSIONS };

/** A version a caller pins (a user, a client, a webhook endpoint) must be one this build serves. */
export function requireSupportedVersion(version: string, pointer = '/api_version'): string {
  if (SUPPORTED_API_VERSIONS.includes(version)) return version;
  const detail = `is not a supported API version (${SUPPORTED_API_VERSIONS.join(', ')})`;
  throw new ValidationError(`api_version ${detail}.`, [{ location: 'body', pointer, detail }]);
}
