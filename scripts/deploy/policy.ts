/**
 * What deploy/ promises beyond the schemas (docs/operations.md, "Kubernetes (deploy/)"): non-root pods on a read-only
 * root filesystem, no secret value in the manifests, probes on paths the spec has, a preStop pause and
 * drain that fit the grace period, metrics where the scrape annotations say, migrations in a Job only.
 * Each rule returns the problems it found; the objects have passed the schemas already.
 */
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IService } from 'kubernetes-models/v1/Service';
import { nameOf, type K8sObject, type Rendered } from './render';
import { workloadChecks } from './policy-workloads';
import {
  matches,
  ofKindIn,
  podLabels,
  PRE_ROLLOUT_SELECTOR,
  SECRET_NAME,
  SECRET_VALUE,
  type Found,
} from './rules';

export function checkPolicy(rendered: Rendered, specPaths: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const all = rendered.objects;
  const ofKind = <T>(kind: string) => ofKindIn<T>(all, kind);

  for (const secret of ofKind('Secret')) problems.push(`${nameOf(secret)}: no Secret belongs in deploy/`);
  const configMaps = ofKind<IConfigMap>('ConfigMap');
  const deployments = ofKind<IDeployment>('Deployment');
  if (configMaps.length !== 1) problems.push(`expected one ConfigMap, found ${configMaps.length}`);
  if (deployments.length !== 1) problems.push(`expected one Deployment, found ${deployments.length}`);
  if (configMaps.length !== 1 || deployments.length !== 1) return problems;
  const configMap = configMaps[0]!;
  const config = configMap.data ?? {};
  const found: Found = { config, deployment: deployments[0]!, jobs: ofKind<IJob>('Job') };

  for (const [key, value] of Object.entries(config)) {
    if (SECRET_NAME.test(key)) {
      problems.push(`${nameOf(configMap)}: ${key} is a secret; it belongs in the Secret`);
    }
    if (SECRET_VALUE.test(value)) {
      problems.push(`${nameOf(configMap)}: the value of ${key} looks like a secret`);
    }
  }
  const expected = { NODE_ENV: 'production', HOST: '0.0.0.0', DB_MIGRATE_ON_START: 'false' };
  for (const [key, value] of Object.entries(expected)) {
    if (config[key] !== value) {
      problems.push(`${nameOf(configMap)}: ${key} must be ${value}, is ${config[key]}`);
    }
  }
  for (const key of ['PORT', 'METRICS_PORT', 'SHUTDOWN_DELAY_MS', 'SHUTDOWN_TIMEOUT_MS', 'PUBLIC_BASE_URL']) {
    if (config[key] === undefined) problems.push(`${nameOf(configMap)}: ${key} must be set`);
  }

  problems.push(...workloadChecks(rendered, found, configMap.metadata.name, specPaths));
  problems.push(...selectorChecks(all, found));
  return problems;
}

/** Service, PDB, HPA and NetworkPolicy reach the right pods, and the first apply holds what the Job needs. */
function selectorChecks(all: K8sObject[], { deployment, jobs }: Found): string[] {
  const problems: string[] = [];
  const serverPods = podLabels(deployment.spec?.template);
  const jobPods = jobs.map((job) => podLabels(job.spec?.template));
  const ofKind = <T>(kind: string) => ofKindIn<T>(all, kind);

  for (const service of ofKind<IService>('Service')) {
    if (!matches(service.spec?.selector, serverPods)) {
      problems.push(`${nameOf(service)}: does not select the server pods`);
    }
    if (jobPods.some((labels) => matches(service.spec?.selector, labels))) {
      problems.push(`${nameOf(service)}: selects the migration Job's pod too`);
    }
  }
  const budgets = ofKind<IPodDisruptionBudget>('PodDisruptionBudget');
  if (!budgets.some((pdb) => matches(pdb.spec?.selector?.matchLabels, serverPods))) {
    problems.push('no PodDisruptionBudget covers the server pods');
  }
  const autoscalers = ofKind<IHorizontalPodAutoscaler>('HorizontalPodAutoscaler');
  const hpa = autoscalers.find(
    (candidate) =>
      candidate.spec?.scaleTargetRef.kind === 'Deployment' &&
      candidate.spec.scaleTargetRef.name === deployment.metadata.name,
  );
  if (!hpa) problems.push(`no HorizontalPodAutoscaler targets ${nameOf(deployment)}`);
  else {
    if (deployment.spec?.replicas !== undefined) {
      problems.push(
        `${nameOf(deployment)}: sets replicas, which every apply would reset under ${nameOf(hpa)}`,
      );
    }
    const min = hpa.spec?.minReplicas ?? 1;
    if (min < 2) problems.push(`${nameOf(hpa)}: minReplicas ${min}; one pod cannot survive a drain`);
    if (!hpa.spec?.metrics?.some((metric) => metric.resource?.name === 'cpu')) {
      problems.push(`${nameOf(hpa)}: no CPU metric`);
    }
  }
  const policies = ofKind<INetworkPolicy>('NetworkPolicy');
  for (const [what, labels] of [
    ['server', serverPods],
    ...jobPods.map((l) => ['migration', l] as const),
  ] as const) {
    if (!policies.some((policy) => matches(policy.spec?.podSelector.matchLabels, labels))) {
      problems.push(`no NetworkPolicy selects the ${what} pods`);
    }
  }
  const ingress = policies.flatMap((policy) => policy.spec?.ingress ?? []);
  const admits = (port: string) => ingress.filter((rule) => rule.ports?.some((p) => p.port === port));
  if (admits('http').length === 0) problems.push('no NetworkPolicy ingress rule admits the http port');
  // Metrics are for the monitoring namespace, not for every pod that can reach the API.
  for (const rule of admits('metrics')) {
    if (!rule.from?.length || rule.from.some((peer) => !peer.namespaceSelector || peer.ipBlock)) {
      problems.push('the metrics port must be admitted from a namespaceSelector only');
    }
  }
  if (admits('metrics').length === 0) problems.push('no NetworkPolicy ingress rule admits the metrics port');
  const egressPorts = new Set(
    policies
      .flatMap((policy) => policy.spec?.egress ?? [])
      .flatMap((rule) => (rule.ports ?? []).map((p) => p.port)),
  );
  for (const port of [53, 5432, 6379, 443]) {
    if (!egressPorts.has(port)) problems.push(`no NetworkPolicy egress rule for port ${port}`);
  }

  const { key, notValue } = PRE_ROLLOUT_SELECTOR;
  const first = new Set(all.filter((object) => object.metadata.labels?.[key] !== notValue).map(nameOf));
  for (const needed of [...ofKind('ConfigMap'), ...ofKind('ServiceAccount'), ...policies, ...jobs]) {
    if (!first.has(nameOf(needed)))
      problems.push(`${nameOf(needed)}: missing from the pre-rollout apply (${key}!=${notValue})`);
  }
  if (first.has(nameOf(deployment)))
    problems.push(`${nameOf(deployment)}: would roll out in the pre-rollout apply`);
  return problems;
}
