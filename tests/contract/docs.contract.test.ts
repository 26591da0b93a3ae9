import { loadOpenApiDocument } from '../../src/internal/openapi-document';
import { PROBLEM_TYPES, problemTypeUri, type ProblemKind } from '../../src/utils/problem-types';
import { collectExamples } from '../support/spec-examples';

const document = loadOpenApiDocument();
const description = String(document.info.description);

/** The `## heading` sections under `# Errors` of info.description, with their text. */
function errorSections(): Map<string, string> {
  const errors = description.split(/^# Errors$/m)[1];
  if (errors === undefined) throw new Error('info.description has no "# Errors" section');
  const sections = new Map<string, string>();
  for (const chunk of errors.split(/^## /m).slice(1)) {
    const [heading = '', ...body] = chunk.split('\n');
    sections.set(heading.trim(), body.join('\n'));
  }
  return sections;
}

const kinds = Object.keys(PROBLEM_TYPES) as ProblemKind[];

describe('the reference explains every problem type', () => {
  it('when info.description is read, then it has a getting-started guide covering the essentials', () => {
    const guide = description.split(/^# Errors$/m)[0]!;
    for (const heading of [
      '# Getting started',
      '## Get a client',
      '## Authentication and the token flow',
      '## Pagination',
      '## Errors in short',
      '## Idempotency',
      '## Rate limits',
      '## Concurrency with ETags',
    ])
      expect(guide).toContain(`\n${heading}\n`);
  });

  it.each(kinds.map((kind) => [kind]))(
    'when %s is looked up, then Errors has its heading (anchor #section/errors/<kind>) with its status and type',
    (kind) => {
      const text = errorSections().get(kind);
      expect(text).toBeDefined();
      expect(text).toContain(`${PROBLEM_TYPES[kind].status}, \`${problemTypeUri(kind)}\``);
    },
  );

  it('when /problems/{kind} is looked up, then it accepts exactly the kinds the API has', () => {
    const operation = document.paths['/problems/{kind}']!.get as {
      parameters: Array<{ schema: { enum: string[] } }>;
    };
    expect([...operation.parameters[0]!.schema.enum].sort()).toEqual([...kinds].sort());
  });

  it('when the Errors section is listed, then it documents no kind the API does not have', () => {
    expect([...errorSections().keys()].sort()).toEqual([...kinds].sort());
  });

  it('when the spec shows problem examples, then each has a documented type, status and title', () => {
    const problems = collectExamples(document as unknown as Record<string, unknown>)
      .map((example) => example.value as { type?: unknown; status?: unknown; title?: unknown })
      .filter((value) => typeof value?.type === 'string' && String(value.type).startsWith('/problems/'));
    expect(problems.length).toBeGreaterThan(10);
    for (const problem of problems) {
      const kind = String(problem.type).replace('/problems/', '') as ProblemKind;
      expect(PROBLEM_TYPES[kind]).toEqual({ status: problem.status, title: problem.title });
    }
  });
});
