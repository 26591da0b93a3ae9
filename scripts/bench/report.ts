/** The bench's output: one table on stdout, the same rows as JSON under build/bench/. */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Row } from './load';

const COLUMNS: Array<[string, (row: Row, baseline: number) => string]> = [
  ['endpoint', (row) => row.endpoint],
  ['server', (row) => row.server],
  ['req/s', (row) => row.reqPerSec.toFixed(0)],
  ['share of baseline', (row, baseline) => (row.reqPerSec / baseline).toFixed(2)],
  ['p50 ms', (row) => row.p50Ms.toFixed(1)],
  ['p99 ms', (row) => row.p99Ms.toFixed(1)],
  ['errors', (row) => String(row.errors)],
  ['server CPU us/req', (row) => row.serverCpuUsPerReq.toFixed(0)],
  ['PG CPU us/req', (row) => row.pgCpuUsPerReq.toFixed(0)],
  ['RSS MB', (row) => row.rssMb.toFixed(0)],
];

export function markdownTable(rows: Row[], baselineReqPerSec: number): string {
  return formatTable(
    COLUMNS.map(([title]) => title),
    rows.map((row) => COLUMNS.map(([, cell]) => cell(row, baselineReqPerSec))),
  );
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
