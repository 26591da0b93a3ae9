import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import bundled from '../../generated/openapi.json';
import { withCodeSamples, type CodeSample } from '../../scripts/docs/code-samples';
import { listOperations, type OpenApiDocument } from '../../src/internal/openapi-document';

const ROOT = resolve(__dirname, '../..');

/**
 * Where globalSetup leaves the diagnostics of the TypeScript samples (a JSON array of strings), type-checked
 * on a thread of their own while the PGlite template is migrated; unset when it did not check them.
 */
export const CODE_SAMPLES_DIAGNOSTICS_ENV = 'TEST_CODE_SAMPLES_DIAGNOSTICS';

export const CODE_SAMPLES_TEST = join(ROOT, 'tests/unit/code-samples.test.ts');

/**
 * Every operation's `TypeScript SDK` sample compiled against sdk/index.ts as a partner would (strict, ES2022,
 * Node and DOM types): the diagnostics, `[]` when every one type-checks. globalSetup's answer when it has
 * one; otherwise checked now.
 */
export async function codeSampleDiagnostics(): Promise<string[]> {
  const precomputed = process.env[CODE_SAMPLES_DIAGNOSTICS_ENV];
  if (precomputed) return JSON.parse(await readFile(precomputed, 'utf8')) as string[];
  return typeCheckCodeSamples();
}

/**
 * Writes the samples to a temporary directory and type-checks them in a worker thread: seconds of CPU
 * that need not block the thread that calls it (globalSetup migrates the template meanwhile), nor load
 * the compiler into a test file's module registry.
 */
export async function typeCheckCodeSamples(): Promise<string[]> {
  const document = withCodeSamples(bundled) as unknown as OpenApiDocument;
  const dir = await mkdtemp(join(tmpdir(), 'samples-'));
  try {
    const files = await Promise.all(
      listOperations(document).map(async ({ operationId, operation }) => {
        const sample = (operation['x-codeSamples'] as CodeSample[]).find(
          (each) => each.label === 'TypeScript SDK',
        );
        const file = join(dir, `${operationId}.ts`);
        await writeFile(file, sample!.source);
        return file;
      }),
    );
    return await inWorker(files);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// Plain JavaScript: a worker thread does not go through jest's transform.
const TYPE_CHECK = `
const { parentPort, workerData } = require('node:worker_threads');
const ts = require(workerData.typescript);
const program = ts.createProgram(workerData.files, {
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ES2022,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
  types: ['node'],
  typeRoots: [workerData.typeRoot],
  paths: { '@partner-api/sdk': [workerData.sdk] },
});
parentPort.postMessage(
  ts.getPreEmitDiagnostics(program).map(
    (diagnostic) =>
      (diagnostic.file ? diagnostic.file.fileName : '') + ': ' + ts.flattenDiagnosticMessageText(diagnostic.messageText, '\\n'),
  ),
);
`;

async function inWorker(files: string[]): Promise<string[]> {
  const worker = new Worker(TYPE_CHECK, {
    eval: true,
    workerData: {
      files,
      typescript: require.resolve('typescript'),
      typeRoot: join(ROOT, 'node_modules/@types'),
      sdk: join(ROOT, 'sdk/index.ts'),
    },
  });
  try {
    return await new Promise<string[]>((resolveDiagnostics, reject) => {
      worker.once('message', (diagnostics: string[]) => resolveDiagnostics(diagnostics));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the type-check worker exited with ${code}`)));
    });
  } finally {
    await worker.terminate();
  }
}
