import { isSpanContextValid, trace } from '@opentelemetry/api';

/**
 * The trace and span the current code runs under, for log lines and problem documents. Without the SDK
 * (tracing off) the API has no active span and this returns undefined at the cost of a function call.
 */
export function currentTraceIds(): { trace_id: string; span_id: string } | undefined {
  const context = trace.getActiveSpan()?.spanContext();
  return context && isSpanContextValid(context)
    ? { trace_id: context.traceId, span_id: context.spanId }
    : undefined;
}
