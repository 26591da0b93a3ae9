import type { IncomingMessage } from 'node:http';

export interface Tracing {
  /** Exports the spans still buffered; called last on shutdown. */
  shutdown(): Promise<void>;
}

/** Probes and scrapes come every few seconds and say nothing about partners' traffic. */
const UNTRACED_PATHS = /^\/(health\/(live|ready)|metrics)(\?|$)/;

/**
 * Starts the OpenTelemetry SDK when an OTLP endpoint is configured; otherwise loads nothing and returns
 * undefined. It must run before express, pg and knex are loaded: the instrumentations patch them as they
 * are required. Spans: one per request (named by the spec's route template once the validator matched
 * it), a child per database query; `traceparent`/`tracestate` are honoured on the way in and sent on
 * outgoing calls (the identity provider's JWKS). The SDK reads the standard OTEL_* variables itself.
 * Traces only: metrics are Prometheus on METRICS_PORT, and logs go to stdout.
 */
export async function startTracing(env: NodeJS.ProcessEnv = process.env): Promise<Tracing | undefined> {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return undefined;
  const [{ NodeSDK }, { HttpInstrumentation }, { KnexInstrumentation }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-knex'),
  ]);
  const sdk = new NodeSDK({
    ...(env.OTEL_SERVICE_NAME ? {} : { serviceName: 'partner-api' }),
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.test(req.url ?? ''),
        applyCustomAttributesOnSpan: (span, req) => {
          const route = (req as IncomingMessage & { openapi?: { openApiRoute?: string } }).openapi
            ?.openApiRoute;
          if (route) {
            span.setAttribute('http.route', route);
            span.updateName(`${(req as IncomingMessage).method} ${route}`);
          }
        },
      }),
      // Statements only (knex sends values as bind parameters, so none reach a span); no spans outside a request.
      new KnexInstrumentation({ requireParentSpan: true }),
    ],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
