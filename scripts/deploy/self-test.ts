/**
 * Broken variants of a rendered overlay that the check must refuse, each with a fragment of the problem
 * it must report: the proof, on every run, that a rule still bites.
 */
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IService } from 'kubernetes-models/v1/Service';
import type { K8sObject } from './render';

export interface Mutation {
  name: string;
  expect: string;
  apply(objects: K8sObject[]): void;
}

function only<T>(objects: K8sObject[], kind: string): T {
  const found = objects.find((object) => object.kind === kind);
  if (!found) throw new Error(`self-test: the overlay has no ${kind}`);
  return found as unknown as T;
}
const deployment = (objects: K8sObject[]) => only<IDeployment>(objects, 'Deployment');
const server = (objects: K8sObject[]): IContainer => deployment(objects).spec!.template.spec!.containers[0]!;
const job = (objects: K8sObject[]) => only<IJob>(objects, 'Job');
const config = (objects: K8sObject[]) => only<IConfigMap>(objects, 'ConfigMap').data!;

export const MUTATIONS: Mutation[] = [
  {
    name: 'a writable root filesystem',
    expect: 'readOnlyRootFilesystem must be true',
    apply: (o) => void (server(o).securityContext!.readOnlyRootFilesystem = false),
  },
  {
    name: 'a Job that may run as root',
    expect: 'runAsNonRoot must be true',
    apply: (o) => void delete job(o).spec!.template.spec!.securityContext!.runAsNonRoot,
  },
  {
    name: 'a literal DATABASE_URL',
    expect: 'DATABASE_URL is a secret',
    apply: (o) =>
      void (server(o).env = [
        { name: 'DATABASE_URL', value: 'postgres://api:hunter2@db:5432/api' },
        ...server(o).env!.filter((v) => v.name !== 'DATABASE_URL'),
      ]),
  },
  {
    name: 'a signing key in the ConfigMap',
    expect: 'AUTH_JWT_PRIVATE_KEY is a secret',
    apply: (o) => void (config(o).AUTH_JWT_PRIVATE_KEY = '-----BEGIN PRIVATE KEY-----'),
  },
  {
    name: 'a Secret object',
    expect: 'no Secret belongs',
    apply: (o) =>
      void o.push({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'partner-api' },
        stringData: { A: 'b' },
      }),
  },
  {
    name: 'a readiness path the spec does not have',
    expect: 'readinessProbe path /healthz is not a path of the spec',
    apply: (o) => void (server(o).readinessProbe!.httpGet!.path = '/healthz'),
  },
  {
    name: 'a preStop pause that eats the grace period',
    expect: 'reach the grace period',
    apply: (o) => void (server(o).lifecycle!.preStop!.exec!.command = ['sleep', '30']),
  },
  {
    name: 'tracing on with a span flush that outlasts the grace period',
    expect: 'span flush 20 s',
    apply: (o) =>
      void Object.assign(config(o), {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.monitoring:4318',
        OTEL_EXPORTER_OTLP_TIMEOUT: '20000',
      }),
  },
  {
    name: 'METRICS_PORT unlike the metrics port',
    expect: 'METRICS_PORT is 9090',
    apply: (o) => void (config(o).METRICS_PORT = '9090'),
  },
  {
    name: 'no scrape annotation',
    expect: 'prometheus.io/scrape',
    apply: (o) => void delete deployment(o).spec!.template.metadata!.annotations!['prometheus.io/scrape'],
  },
  {
    name: 'replicas beside the autoscaler',
    expect: 'sets replicas',
    apply: (o) => void (deployment(o).spec!.replicas = 3),
  },
  {
    name: 'servers that migrate at start',
    expect: 'must not migrate',
    apply: (o) =>
      void (server(o).command = ['sh', '-c', 'node dist/src/cli.js migrate && node dist/src/main.js']),
  },
  {
    name: 'an unpinned image',
    expect: 'pinned tag',
    apply: (o) => void (server(o).image = 'registry.example.com/partner-api:latest'),
  },
  {
    name: 'a Service that selects the migration pod too',
    expect: "selects the migration Job's pod too",
    apply: (o) =>
      void (only<IService>(o, 'Service').spec!.selector = { 'app.kubernetes.io/name': 'partner-api' }),
  },
  {
    name: 'metrics open to every pod of the namespace',
    expect: 'the metrics port must be admitted from a namespaceSelector only',
    apply: (o) =>
      void only<INetworkPolicy>(o, 'NetworkPolicy').spec!.ingress!.push({
        from: [{ podSelector: {} }],
        ports: [{ port: 'metrics', protocol: 'TCP' }],
      }),
  },
  {
    name: 'a Job kept forever',
    expect: 'ttlSecondsAfterFinished must be set',
    apply: (o) => void delete job(o).spec!.ttlSecondsAfterFinished,
  },
  {
    name: 'a field of the wrong type (schema)',
    expect: 'must be integer',
    apply: (o) =>
      void Object.assign(only<IHorizontalPodAutoscaler>(o, 'HorizontalPodAutoscaler').spec!, {
        maxReplicas: '10',
      }),
  },
  {
    name: 'a misspelt field (unknown to the schema)',
    expect: '\'"readOnlyRootFilesytem"\' does not exist',
    apply: (o) => void Object.assign(server(o).securityContext!, { readOnlyRootFilesytem: true }),
  },
];
