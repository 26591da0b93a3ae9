import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { checkTargetUrl, type ResolvedAddress, type TargetUrlPolicyOptions } from './target-url-policy';
import { signatureHeader } from './webhook-signature';

export interface WebhookSenderOptions {
  /** The whole attempt: connecting, sending and reading the response. */
  timeoutMs?: number;
  /** How much of the response body is kept for the delivery log; the rest is not read. */
  maxResponseBytes?: number;
  policy?: TargetUrlPolicyOptions;
  clock?: () => Date;
}

export interface WebhookDelivery {
  url: string;
  /** Current secret first; during a rotation also the previous one (each gives one signature). */
  secrets: readonly string[];
  /** The message id, stable across retries so receivers can drop duplicates. */
  id: string;
  payload: unknown;
}

export type DeliveryFailure = 'target-refused' | 'timeout' | 'network' | 'redirect' | 'status';

export interface DeliveryAttemptResult {
  ok: boolean;
  status: number | null;
  durationMs: number;
  failure?: DeliveryFailure;
  error?: string;
  responseExcerpt: string;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 4096;

export type WebhookSender = (delivery: WebhookDelivery) => Promise<DeliveryAttemptResult>;

/** One delivery attempt per call; retrying is the caller's business (see retry-schedule.ts). */
export function createWebhookSender(options: WebhookSenderOptions = {}): WebhookSender {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const clock = options.clock ?? (() => new Date());

  return async (delivery) => {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    // Checked on every attempt, not only when the subscription was saved: DNS answers change.
    // The resolver is part of the attempt's time budget: a hanging DNS server must not stall the worker.
    const target = await withinMs(checkTargetUrl(delivery.url, options.policy), timeoutMs);
    if (target === 'timed-out') {
      const error = `The target host did not resolve within ${timeoutMs} ms.`;
      return {
        ok: false,
        status: null,
        durationMs: elapsed(),
        failure: 'timeout',
        error,
        responseExcerpt: '',
      };
    }
    if (!target.ok) {
      return {
        ok: false,
        status: null,
        durationMs: elapsed(),
        failure: 'target-refused',
        error: target.message,
        responseExcerpt: '',
      };
    }
    const body = JSON.stringify(delivery.payload);
    const timestamp = clock();
    const headers = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'partner-api-webhooks/1',
      'webhook-id': delivery.id,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': signatureHeader(delivery.secrets, delivery.id, timestamp, body),
    };
    const remainingMs = Math.max(1, timeoutMs - elapsed());
    const outcome = await post(target.url, target.addresses, headers, body, remainingMs, maxResponseBytes);
    return { ...outcome, durationMs: elapsed() };
  };
}

function withinMs<T>(promise: Promise<T>, ms: number): Promise<T | 'timed-out'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed-out'>((resolve) => (timer = setTimeout(() => resolve('timed-out'), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

type Outcome = Omit<DeliveryAttemptResult, 'durationMs'>;

function post(
  url: URL,
  addresses: ResolvedAddress[],
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  maxResponseBytes: number,
): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    let settled = false;
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Whatever is left unread (a huge body, a response still streaming) is not our concern any more.
      request.destroy();
      resolve(outcome);
    };
    const failed = (failure: DeliveryFailure, error: string, status: number | null = null, excerpt = '') =>
      finish({ ok: false, status, failure, error, responseExcerpt: excerpt });

    // node:http never follows redirects, and `agent: false` gives each attempt its own connection, so the
    // pinned lookup below cannot leak into a pooled socket for another host.
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      headers,
      agent: false,
      lookup: pinnedLookup(addresses),
    });
    const timer = setTimeout(
      () =>
        failed('timeout', `No complete response within the attempt's time budget (${timeoutMs} ms left).`),
      timeoutMs,
    );

    request.on('error', (error) => failed('network', error.message));
    request.on('response', (response: IncomingMessage) => {
      const status = response.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let kept = 0;
      const done = () => {
        const excerpt = Buffer.concat(chunks).toString('utf8');
        if (status >= 200 && status < 300) finish({ ok: true, status, responseExcerpt: excerpt });
        else if (status >= 300 && status < 400) {
          failed(
            'redirect',
            `Redirects are not followed (${status} to ${response.headers.location ?? 'nowhere'}).`,
            status,
            excerpt,
          );
        } else failed('status', `The receiver answered ${status}.`, status, excerpt);
      };
      response.on('data', (chunk: Buffer) => {
        if (settled) return;
        const room = maxResponseBytes - kept;
        chunks.push(chunk.subarray(0, room));
        kept += Math.min(room, chunk.length);
        if (kept >= maxResponseBytes) done();
      });
      response.on('end', done);
      response.on('error', (error) => failed('network', error.message, status));
    });
    request.end(body);
  });
}

/**
 * Hands the connection exactly the addresses the policy checked. Node asks with `all: true` when it may
 * race IPv4 and IPv6 (autoSelectFamily) and for a single address otherwise; it never asks for IP literals.
 */
function pinnedLookup(addresses: ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, addresses);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  };
}
