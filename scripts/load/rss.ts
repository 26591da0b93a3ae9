/** The resident memory of the server under load, from its metrics endpoint or from /proc. */
import { execFileSync } from 'node:child_process';
import { rssMb } from '../bench/proc';

export interface RssProbe {
  /** Where the figure comes from, for the report. */
  source: string;
  /** Megabytes, or undefined when the source does not answer. */
  read(): Promise<number | undefined>;
}

/**
 * LOAD_METRICS_URL (Prometheus text with `process_resident_memory_bytes`) when set; otherwise VmRSS of
 * LOAD_PID, or of the process listening on the target's port when it is on this machine (`ss -ltnp`).
 */
export function rssProbe(target: URL, env: NodeJS.ProcessEnv = process.env): RssProbe | undefined {
  const metricsUrl = env.LOAD_METRICS_URL;
  if (metricsUrl) {
    return {
      source: `${metricsUrl} (process_resident_memory_bytes)`,
      read: async () => {
        const text = await fetch(metricsUrl).then(
          (res) => (res.ok ? res.text() : ''),
          () => '',
        );
        const bytes = /^process_resident_memory_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1];
        return bytes === undefined ? undefined : Number(bytes) / 1024 / 1024;
      },
    };
  }
  const pid = env.LOAD_PID ? Number(env.LOAD_PID) : listeningPid(target);
  if (!pid) return undefined;
  return {
    source: `VmRSS of pid ${pid}${env.LOAD_PID ? '' : ` (listening on port ${portOf(target)})`}`,
    read: () => Promise.resolve(rssMb(pid) || undefined),
  };
}

function portOf(target: URL): number {
  return Number(target.port || (target.protocol === 'https:' ? 443 : 80));
}

/** The pid `ss` reports for the listener on the target's port, when the target is this machine. */
function listeningPid(target: URL): number | undefined {
  if (!['127.0.0.1', 'localhost', '[::1]', '0.0.0.0'].includes(target.hostname)) return undefined;
  try {
    const listing = execFileSync('ss', ['-ltnpH', `sport = :${portOf(target)}`], { encoding: 'utf8' });
    const pid = /pid=(\d+)/.exec(listing)?.[1];
    return pid ? Number(pid) : undefined;
  } catch {
    return undefined;
  }
}
