import type { Response } from 'express';
import type { StoredResponse } from '../repositories/idempotency.repository';

export type ResponseHeaders = Readonly<Record<string, string>>;

/**
 * What a handler answers, before it is sent: a status, headers, and at most one of
 *  - `body`: JSON, sent with `res.json` so response validation sees it;
 *  - `encoded`: text already in the representation its `Content-Type` header names (a spec, an HTML page);
 *  - `file`: a path on disk, streamed with `res.sendFile` (the docs portal).
 */
export type SentResult = { status: number; headers?: ResponseHeaders } & (
  { body: unknown } | { encoded: string } | { file: string } | { body?: never; encoded?: never; file?: never }
);

export function sendResult(res: Response, result: SentResult): void {
  res.status(result.status);
  if (result.headers) res.set(result.headers);
  if ('body' in result && result.body !== undefined) res.json(result.body);
  else if ('encoded' in result && result.encoded !== undefined) res.end(result.encoded);
  else if ('file' in result && result.file !== undefined) res.sendFile(result.file);
  else res.end();
}

/** The result as an idempotency record replays it: the body encoded exactly as `sendResult` sends it. */
export function toStoredResponse(result: SentResult): StoredResponse {
  if ('file' in result && result.file !== undefined)
    throw new Error('A file response is not stored for replay.');
  if ('body' in result && result.body !== undefined) {
    return {
      status: result.status,
      headers: { ...result.headers, 'Content-Type': 'application/json; charset=utf-8' },
      body: JSON.stringify(result.body),
    };
  }
  const encoded = 'encoded' in result ? result.encoded : undefined;
  return { status: result.status, headers: { ...result.headers }, body: encoded ?? null };
}
