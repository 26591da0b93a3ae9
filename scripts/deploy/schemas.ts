/**
 * Validates rendered objects against the Kubernetes OpenAPI schemas, offline, with kubernetes-models:
 * its compiled validators check types, formats and required fields. They accept unknown fields, which
 * `kubectl apply` refuses (its field validation is strict), so each object is also type-checked as a
 * TypeScript literal of the package's interface: excess-property checks catch a misspelt or misplaced field.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import ts from 'typescript';
import { nameOf, type K8sObject } from './render';

interface Kind {
  validate(object: K8sObject): void;
  /** Module and interface of the object's type, for the TypeScript check. */
  typeModule: string;
  typeName: string;
}

function kind(Model: new (data: never) => { validate(): void }, typeModule: string, typeName: string): Kind {
  return { validate: (object) => new Model(object as never).validate(), typeModule, typeName };
}

/**
 * Every kind deploy/ may render. A kind missing here fails the check rather than going unvalidated.
 * (Secret is here so that the policy, not a missing schema, is what refuses one.)
 */
const KINDS: Record<string, Kind> = {
  'v1/ConfigMap': kind(ConfigMap, 'kubernetes-models/v1/ConfigMap', 'IConfigMap'),
  'v1/Secret': kind(Secret, 'kubernetes-models/v1/Secret', 'ISecret'),
  'v1/Service': kind(Service, 'kubernetes-models/v1/Service', 'IService'),
  'v1/ServiceAccount': kind(ServiceAccount, 'kubernetes-models/v1/ServiceAccount', 'IServiceAccount'),
  'apps/v1/Deployment': kind(Deployment, 'kubernetes-models/apps/v1/Deployment', 'IDeployment'),
  'batch/v1/Job': kind(Job, 'kubernetes-models/batch/v1/Job', 'IJob'),
  'autoscaling/v2/HorizontalPodAutoscaler': kind(
    HorizontalPodAutoscaler,
    'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
    'IHorizontalPodAutoscaler',
  ),
  'policy/v1/PodDisruptionBudget': kind(
    PodDisruptionBudget,
    'kubernetes-models/policy/v1/PodDisruptionBudget',
    'IPodDisruptionBudget',
  ),
  'networking.k8s.io/v1/NetworkPolicy': kind(
    NetworkPolicy,
    'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
    'INetworkPolicy',
  ),
};

const kindOf = (object: K8sObject): Kind | undefined => KINDS[`${object.apiVersion}/${object.kind}`];

/** Schema problems of one object: an unknown kind, or what the kind's validator refuses. */
export function validateObject(object: K8sObject): string[] {
  const known = kindOf(object);
  if (!known)
    return [
      `${nameOf(object)}: ${object.apiVersion} ${object.kind} has no schema in scripts/deploy/schemas.ts`,
    ];
  try {
    known.validate(object);
    return [];
  } catch (error) {
    return [`${nameOf(object)}: ${error instanceof Error ? error.message : String(error)}`];
  }
}

/**
 * Fields the interfaces do not know, for several sets of objects at once (one TypeScript program):
 * the problems of each set, in the order given. Kinds without a schema are left to validateObject.
 * TypeScript names one unknown field per object: fix it and the next one shows.
 */
export function unknownFields(sets: K8sObject[][], workDir = 'build/deploy/typed'): string[][] {
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  // One object per line, so a diagnostic's line names its object.
  const files = sets.map((objects, index) => {
    const path = resolve(join(workDir, `set-${index}.ts`));
    const typed = objects.flatMap((object) => {
      const known = kindOf(object);
      return known ? [{ object, known }] : [];
    });
    const imports = typed.map(
      ({ known }, position) =>
        `import type { ${known.typeName} as T${position} } from '${known.typeModule}';`,
    );
    const declarations = typed.map(
      ({ object }, position) => `export const o${position}: T${position} = ${JSON.stringify(object)};`,
    );
    writeFileSync(path, [...imports, ...declarations].join('\n') + '\n');
    const owners = new Map(typed.map(({ object }, position) => [imports.length + position, nameOf(object)]));
    return { path, owners };
  });
  const program = ts.createProgram(
    files.map((file) => file.path),
    {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
      target: ts.ScriptTarget.ES2022,
    },
  );
  const problems = files.map((): string[] => []);
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const index = files.findIndex((file) => file.path === diagnostic.file?.fileName);
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    if (index < 0 || !diagnostic.file || diagnostic.start === undefined) {
      throw new Error(`TypeScript check of the rendered objects: ${message}`);
    }
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    problems[index]!.push(`${files[index]!.owners.get(line) ?? 'an import'}: ${message}`);
  }
  return problems;
}
