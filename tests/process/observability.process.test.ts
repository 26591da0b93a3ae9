import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { killAll, startMain } from '../support/main-process';

// Starts the real process entry with the OpenTelemetry SDK; on a busy machine that takes a while.
jest.setTimeout(180_000);

const started: ChildProcess[] = [];
afterEach(() => killAll(started));

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: { stringValue?: string; intValue?: number | string } }>;
}

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;

/** An OTLP/HTTP receiver (JSON encoding) on loopback that keeps every span it is sent. */
async function startOtlpReceiver(): Promise<{ server: Server; url: string; spans: OtlpSpan[] }> {
  const spans: OtlpSpan[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
        };
        for (const resource of body.resourceSpans)
          for (const scope of resource.scopeSpans) spans.push(...scope.spans);
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans };
}

const attribute = (span: OtlpSpan, key: string) =>
  span.attributes.find((candidate) => candidate.key === key)?.value.stringValue;

describe('tracing and metrics of the running process', () => {
  it('when a traced request fails, then its spans continue the caller trace, each query is a child span, and the trace id is in the problem and every log line', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const main = startMain(
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
          OTEL_SERVICE_NAME: 'partner-api-test',
          METRICS_PORT: '0',
          METRICS_HOST: '127.0.0.1',
        },
        started,
      );
      const api = await main.url();
      const metricsUrl = (JSON.parse(await main.logLine(/metrics at http/)) as { url: string }).url;

      const email = `traced-${randomUUID()}@example.com`;
      const password = 'violet-kettle-orbit-42';
      const registered = await fetch(new URL('/v1/auth/register', api), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email, password, name: 'Traced' }),
      });
      expect(registered.status).toBe(201);
      const granted = await fetch(new URL('/v1/auth/token', api), {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'password', username: email, password }),
      });
      const { access_token: accessToken } = (await granted.json()) as { access_token: string };

      const callerTraceId = randomBytes(16).toString('hex');
      const callerSpanId = randomBytes(8).toString('hex');
      const missingItemId = randomUUID();
      const missing = await fetch(new URL(`/v1/items/${missingItemId}`, api), {
        headers: {
          Authorization: `Bearer ${accessToken}`,
          traceparent: `00-${callerTraceId}-${callerSpanId}-01`,
          tracestate: 'partner=abc',
        },
      });
      expect(missing.status).toBe(404);
      const problem = (await missing.json()) as { trace_id?: string; request_id: string };
      expect(problem.trace_id).toBe(callerTraceId);

      // Metrics: on their own listener, never on the API port.
      const scraped = await fetch(metricsUrl);
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toMatch(
        /^http_requests_total\{operation="getItem",method="GET",status="404"\} 1$/m,
      );
      expect((await fetch(new URL('/metrics', api))).status).toBe(404);

      // Shutdown flushes the spans still batched.
      main.child.kill('SIGTERM');
      const [code] = await main.exited;
      expect(code).toBe(0);

      const traced = receiver.spans.filter((span) => span.traceId === callerTraceId);
      const server = traced.find((span) => span.kind === SPAN_KIND_SERVER);
      expect(server).toMatchObject({ name: 'GET /v1/items/{item_id}', parentSpanId: callerSpanId });
      expect(attribute(server!, 'http.route')).toBe('/v1/items/{item_id}');
      const queries = traced.filter((span) => span.kind === SPAN_KIND_CLIENT);
      // The session lookup and the item lookup, each a child of the request's span.
      expect(queries.length).toBeGreaterThanOrEqual(2);
      expect(queries.map((query) => query.name)).toContain('first postgres.items');
      for (const query of queries) {
        expect(query.parentSpanId).toBe(server!.spanId);
        // Statements with placeholders: the values (here the item id asked for) never reach a span.
        expect(attribute(query, 'db.query.text')).toMatch(/\?/);
        expect(JSON.stringify(query.attributes)).not.toContain(missingItemId);
      }
      // Probes are not traced.
      expect(receiver.spans.some((span) => span.name.includes('/health'))).toBe(false);

      const lines = main
        .output()
        .split('\n')
        .filter((line) => line.includes(problem.request_id))
        .map((line) => JSON.parse(line) as { trace_id?: string; span_id?: string });
      expect(lines.length).toBeGreaterThanOrEqual(1);
      for (const line of lines)
        expect(line).toMatchObject({ trace_id: callerTraceId, span_id: server!.spanId });
    } finally {
      receiver.server.close();
    }
  });

  it('when no OTLP endpoint is set, then no SDK is loaded and problems carry no trace id', async () => {
    const main = startMain({}, started);
    const api = await main.url();
    const answer = await fetch(new URL('/v1/users/me', api), {
      headers: { traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01` },
    });
    expect(answer.status).toBe(401);
    expect(((await answer.json()) as { trace_id?: string }).trace_id).toBeUndefined();
    expect(main.output()).not.toContain('tracing: exporting');
    expect(main.output()).not.toContain('"trace_id"');
  });
});
