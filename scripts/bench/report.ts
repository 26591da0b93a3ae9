/** The bench's output: one table on stdout, the same rows as JSON under build/bench/. */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Row } from './load';

/** The same-work baseline of a row: the bare server's row for the same endpoint (./baseline-server.mjs). */
export const BASELINE = 'baseline';

const baselineOf = (row: Row, rows: Row[]) =>
  rows.find((other) => other.server === BASELINE && other.endpoint === row.endpoint);

function shareOfBaseline(row: Row, rows: Row[]): string {
  const baseline = baselineOf(row, rows);
  return baseline ? (row.reqPerSec / baseline.reqPerSec).toFixed(2) : '-';
}

/**
 * The baseline's server CPU per request over the row's: the share by cost, which a loaded machine moves far
 * less than req/s (a run that lost the CPU to other work keeps its cost per request).
 */
function cpuShareOfBaseline(row: Row, rows: Row[]): string {
  const baseline = baselineOf(row, rows);
  return baseline && row.serverCpuUsPerReq
    ? (baseline.serverCpuUsPerReq / row.serverCpuUsPerReq).toFixed(2)
    : '-';
}

const optional = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(1));

const COLUMNS: Array<[string, (row: Row, rows: Row[]) => string]> = [
  ['endpoint', (row) => row.endpoint],
  ['server', (row) => row.server],
  ['req/s', (row) => row.reqPerSec.toFixed(0)],
  ['share of its baseline', shareOfBaseline],
  ['CPU share', cpuShareOfBaseline],
  ['p50 ms', (row) => row.p50Ms.toFixed(1)],
  ['p99 ms', (row) => row.p99Ms.toFixed(1)],
  ['errors', (row) => String(row.errors)],
  ['server CPU us/req', (row) => row.serverCpuUsPerReq.toFixed(0)],
  ['PG CPU us/req', (row) => row.pgCpuUsPerReq.toFixed(0)],
  ['round trips/req', (row) => optional(row.roundTripsPerReq)],
  ['commits/req', (row) => optional(row.commitsPerReq)],
  ['RSS MB', (row) => row.rssMb.toFixed(0)],
];

export function markdownTable(rows: Row[]): string {
  return formatTable(
    COLUMNS.map(([title]) => title),
    rows.map((row) => COLUMNS.map(([, cell]) => cell(row, rows))),
  );
}

/** Each endpoint and server's median over rounds, field by field (the machine is shared: one round lies). */
export function medianRows(rounds: Row[][]): Row[] {
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  return rounds[0]!.map((first, index) => {
    const same = rounds.map((round) => round[index]!);
    const field = (pick: (row: Row) => number | undefined) => {
      const values = same.map(pick).filter((value): value is number => value !== undefined);
      return values.length ? median(values) : undefined;
    };
    return {
      ...first,
      reqPerSec: field((row) => row.reqPerSec)!,
      p50Ms: field((row) => row.p50Ms)!,
      p99Ms: field((row) => row.p99Ms)!,
      errors: same.reduce((sum, row) => sum + row.errors, 0),
      requests: same.reduce((sum, row) => sum + row.requests, 0),
      serverCpuUsPerReq: field((row) => row.serverCpuUsPerReq)!,
      pgCpuUsPerReq: field((row) => row.pgCpuUsPerReq)!,
      roundTripsPerReq: field((row) => row.roundTripsPerReq),
      commitsPerReq: field((row) => row.commitsPerReq),
      rssMb: field((row) => row.rssMb)!,
    };
  });
}

/** A Markdown table with padded columns. */
export function formatTable(header: string[], cells: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((line) => line[i]!.length)));
  const line = (values: string[]) => `| ${values.map((value, i) => value.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...cells.map(line)].join('\n');
}

export function writeJson(path: string, report: unknown): void {
  mkdirSync(path.slice(0, path.lastIndexOf('/')), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}
