import type { ClientCredentials } from '../services/token-grants/grant-kit';
import { OAuthError } from '../utils/errors';

/** RFC 6749 section 2.3.1: client id and secret, each form-urlencoded, in an HTTP Basic header. */
export function parseBasicClientCredentials(header: string | undefined): ClientCredentials | undefined {
  if (!header || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  if (separator < 1) throw new OAuthError('invalid_client', 'The Basic authorization header is malformed.');
  try {
    return {
      clientId: decodeURIComponent(decoded.slice(0, separator).replace(/\+/g, ' ')),
      clientSecret: decodeURIComponent(decoded.slice(separator + 1).replace(/\+/g, ' ')),
    };
  } catch {
    throw new OAuthError('invalid_client', 'The Basic authorization header is malformed.');
  }
}
