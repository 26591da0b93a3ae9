/** The rules on pods: the Deployment's and the migration Job's (see policy.ts for the rest). */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { containersOf, REQUIRED_SECRETS, SECRET_NAME, SECRET_VALUE, type Found } from './rules';
import { nameOf, type K8sObject, type Rendered } from './render';

/** A registry (a port allowed), a repository, and a tag other than latest or a digest. */
const PINNED_IMAGE = /^[\w.-]+(:\d+)?\/[\w./-]+(:(?!latest$)[\w.-]+|@sha256:[0-9a-f]{64})$/;
/** After the drain: closing the database pool and Redis and flushing the log, with room to spare. */
const CLOSE_SECONDS = 2;
/** The OpenTelemetry SDK's default OTEL_EXPORTER_OTLP_TIMEOUT. */
const OTLP_DEFAULT_TIMEOUT_MS = 10_000;

export function workloadChecks(
  rendered: Rendered,
  found: Found,
  configMapName: string,
  specPaths: ReadonlySet<string>,
): string[] {
  const { deployment, jobs, config } = found;
  const problems = [deployment, ...jobs].flatMap((workload) =>
    podChecks(workload, workload.spec?.template, rendered.isOverlay, configMapName),
  );
  problems.push(...serverChecks(deployment, config, specPaths));

  const migrations = jobs.filter((job) => containersOf(job.spec?.template).some((c) => runsMigrate(c)));
  if (migrations.length !== 1) problems.push(`expected one Job running migrate, found ${migrations.length}`);
  for (const job of migrations) {
    if (job.spec?.backoffLimit === undefined) problems.push(`${nameOf(job)}: backoffLimit must be set`);
    if (job.spec?.ttlSecondsAfterFinished === undefined) {
      problems.push(`${nameOf(job)}: ttlSecondsAfterFinished must be set`);
    }
  }
  return problems;
}

const runsMigrate = (container: IContainer): boolean =>
  [...(container.command ?? []), ...(container.args ?? [])].some((word) => /\bmigrate\b/.test(word));

function podChecks(
  owner: K8sObject,
  template: IPodTemplateSpec | undefined,
  isOverlay: boolean,
  configMapName: string,
): string[] {
  const problems: string[] = [];
  const say = (message: string) => problems.push(`${nameOf(owner)}: ${message}`);
  const pod = template?.spec;
  if (pod?.automountServiceAccountToken !== false) say('automountServiceAccountToken must be false');
  const podSecurity = pod?.securityContext;
  if (podSecurity?.runAsNonRoot !== true) say('runAsNonRoot must be true');
  if (!podSecurity?.runAsUser)
    say('runAsUser must be a non-zero uid (the image names its user, not its uid)');
  if (podSecurity?.seccompProfile?.type !== 'RuntimeDefault') say('seccompProfile must be RuntimeDefault');

  for (const container of containersOf(template)) {
    const of = (message: string) => say(`container ${container.name}: ${message}`);
    const security = container.securityContext;
    if (security?.readOnlyRootFilesystem !== true) of('readOnlyRootFilesystem must be true');
    if (security?.allowPrivilegeEscalation !== false) of('allowPrivilegeEscalation must be false');
    if (!security?.capabilities?.drop?.includes('ALL')) of('capabilities must drop ALL');
    if (security?.runAsUser === 0 || security?.runAsNonRoot === false) of('must not run as root');
    const { requests, limits } = container.resources ?? {};
    if (!requests?.cpu || !requests.memory || !limits?.memory)
      of('needs CPU and memory requests and a memory limit');
    if (isOverlay && !PINNED_IMAGE.test(container.image ?? '')) {
      of(`image ${container.image} must name a registry and a pinned tag or digest`);
    }
    for (const variable of container.env ?? []) {
      if (variable.value === undefined) continue;
      if (SECRET_NAME.test(variable.name)) {
        of(`${variable.name} is a secret; it must come from a secretKeyRef`);
      }
      if (SECRET_VALUE.test(variable.value)) of(`the value of ${variable.name} looks like a secret`);
    }
    for (const name of REQUIRED_SECRETS) {
      const variable = container.env?.find((candidate) => candidate.name === name);
      if (!variable?.valueFrom?.secretKeyRef) of(`${name} must come from a secretKeyRef`);
    }
    if (!container.envFrom?.some((source) => source.configMapRef?.name === configMapName)) {
      of(`must read the ConfigMap ${configMapName}`);
    }
  }
  return problems;
}

function serverChecks(
  deployment: K8sObject & Found['deployment'],
  config: Record<string, string>,
  specPaths: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  const say = (message: string) => problems.push(`${nameOf(deployment)}: ${message}`);
  const template = deployment.spec?.template;
  const containers = containersOf(template);
  const server = containers.find((container) => container.ports?.some((port) => port.name === 'http'));
  if (!server) return [`${nameOf(deployment)}: no container has a port named http`];
  if (containers.some(runsMigrate)) say('the servers must not migrate (the Job does, before the rollout)');
  const portOf = (name: string) => server.ports?.find((port) => port.name === name)?.containerPort;
  if (String(portOf('http')) !== config.PORT) say(`port http is ${portOf('http')}, PORT is ${config.PORT}`);
  const metricsPort = portOf('metrics');
  if (String(metricsPort) !== config.METRICS_PORT) {
    say(`port metrics is ${metricsPort}, METRICS_PORT is ${config.METRICS_PORT}`);
  }

  const annotations = template?.metadata?.annotations ?? {};
  const scrape = {
    'prometheus.io/scrape': 'true',
    'prometheus.io/port': String(metricsPort),
    'prometheus.io/path': '/metrics',
  };
  for (const [key, value] of Object.entries(scrape)) {
    if (annotations[key] !== value) say(`pod annotation ${key} must be ${value}, is ${annotations[key]}`);
  }

  const probes: [string, IProbe | undefined][] = [
    ['livenessProbe', server.livenessProbe],
    ['readinessProbe', server.readinessProbe],
    ['startupProbe', server.startupProbe],
  ];
  for (const [kind, probe] of probes) {
    if (!probe) {
      if (kind !== 'startupProbe') say(`${kind} is missing`);
      continue;
    }
    const path = probe.httpGet?.path;
    if (!path || !specPaths.has(path)) say(`${kind} path ${path} is not a path of the spec`);
    if (probe.httpGet?.port !== 'http' && probe.httpGet?.port !== portOf('http')) {
      say(`${kind} must probe the http port`);
    }
  }
  if (server.livenessProbe?.httpGet?.path === server.readinessProbe?.httpGet?.path) {
    say('liveness and readiness must differ (readiness asks the database; liveness must not)');
  }

  const pause = preStopSeconds(server);
  if (pause === undefined) say('needs a preStop sleep, so endpoints drop the pod before it drains');
  const grace = template?.spec?.terminationGracePeriodSeconds ?? 30;
  const drain = (Number(config.SHUTDOWN_DELAY_MS) + Number(config.SHUTDOWN_TIMEOUT_MS)) / 1000;
  // With tracing on, shutdown also waits for the last spans to be exported, up to the exporter's timeout.
  const flush = config.OTEL_EXPORTER_OTLP_ENDPOINT
    ? Number(config.OTEL_EXPORTER_OTLP_TIMEOUT ?? OTLP_DEFAULT_TIMEOUT_MS) / 1000
    : 0;
  if ((pause ?? 0) + drain + flush + CLOSE_SECONDS > grace) {
    say(
      `preStop ${pause} s + SHUTDOWN_DELAY_MS and SHUTDOWN_TIMEOUT_MS ${drain} s + span flush ${flush} s ` +
        `+ ${CLOSE_SECONDS} s to close reach the grace period ${grace} s`,
    );
  }
  if (!template?.spec?.topologySpreadConstraints?.length) say('needs topologySpreadConstraints');
  return problems;
}

/** `exec: [sleep, N]` or the `sleep` lifecycle action. */
function preStopSeconds(container: IContainer): number | undefined {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const [command, seconds, ...rest] = preStop?.exec?.command ?? [];
  return command === 'sleep' && rest.length === 0 && /^\d+$/.test(seconds ?? '')
    ? Number(seconds)
    : undefined;
}
