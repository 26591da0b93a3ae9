/** What the policy rules share: which names and values are secrets, and how pods are found and selected. */
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { K8sObject } from './render';

/** Variables whose values are secrets: they may only come from a Secret. */
export const SECRET_NAME = /PASSWORD|SECRET|PRIVATE_KEY|TOKEN|^DATABASE_URL$|^REDIS_URL$/;
/** A value that is a secret whatever its name: a PEM block, or a URL carrying credentials. */
export const SECRET_VALUE = /-----BEGIN |^[a-z][a-z0-9+.-]*:\/\/[^/@\s]+@/i;
/** Set by the Secret and required in production (src/internal/config.ts). */
export const REQUIRED_SECRETS = ['DATABASE_URL', 'AUTH_JWT_PRIVATE_KEY', 'WEBHOOK_SECRETS_KEY'];
/** The label selector of the first apply (docs/operations.md, Kubernetes): everything the migration Job needs, not the servers. */
export const PRE_ROLLOUT_SELECTOR = { key: 'app.kubernetes.io/component', notValue: 'server' };

export interface Found {
  config: Record<string, string>;
  deployment: IDeployment & K8sObject;
  jobs: (IJob & K8sObject)[];
}

export function podLabels(template: IPodTemplateSpec | undefined): Record<string, string> {
  return template?.metadata?.labels ?? {};
}

export function matches(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean {
  return (
    !!selector &&
    Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([k, v]) => labels[k] === v)
  );
}

export function containersOf(template: IPodTemplateSpec | undefined): IContainer[] {
  return [...(template?.spec?.initContainers ?? []), ...(template?.spec?.containers ?? [])];
}

export function ofKindIn<T>(objects: K8sObject[], kind: string): (T & K8sObject)[] {
  return objects.filter((object) => object.kind === kind) as (T & K8sObject)[];
}
