import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The rooms of src/, top to bottom. A request reads downwards: entry points and the composition root,
 * then handlers, the HTTP pipeline, services, the webhook worker, repositories, infrastructure, and the
 * floor (models, utils, config) everything may use. A file may import its own room and the rooms below
 * it, never one above: the rules below say so for each room, and lint fails on an import running back up.
 */
const ENTRY = ['app', 'cli', 'composition', 'main', 'start', 'server', 'metrics-server'];
const ROOMS = ['routers', 'dependencies', 'services', 'webhooks', 'repositories', 'infrastructure'];
const FLOOR = ['models', 'utils', 'internal', 'types', 'versions'];

const importsAbove = (room, above) => ({
  files: [`src/${room}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex: `^\\.\\./(${above.join('|')})(/|$)`,
            message: `src/${room}/ may import only its own room and those below it (eslint.config.mjs, the rooms of src/).`,
          },
        ],
      },
    ],
  },
});

const roomRules = [
  ...ROOMS.map((room, level) => importsAbove(room, [...ENTRY, ...ROOMS.slice(0, level)])),
  ...FLOOR.map((room) => importsAbove(room, [...ENTRY, ...ROOMS])),
  {
    // The unit of work is the one place a transaction starts (src/infrastructure/unit-of-work.ts); everything
    // else runs its statements through a unit (`unit.transaction`, or a service's `context.transaction`).
    // Knex's migrator, which runs each migration in a transaction of its own, is the one exception.
    files: ['src/**/*.ts'],
    ignores: ['src/infrastructure/unit-of-work.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "CallExpression[callee.property.name='transaction']:not([callee.object.name=/^(unit|context)$/])",
          message: 'Start a transaction through the unit of work (createUnitOfWork or withUnitOfWork).',
        },
      ],
    },
  },
  {
    // A migration must keep doing what it did when it was written: it imports nothing that may change.
    files: ['migrations/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^\\.\\./src/', message: 'Migrations are frozen: they import nothing from src/.' },
          ],
        },
      ],
    },
  },
];

export default tseslint.config(
  // sdk/matrix/journeys are compiled against each generator's output by make sdk-matrix (strict tsc there).
  { ignores: ['dist/', 'build/', 'coverage/', 'generated/', '.data/', 'sdk/matrix/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      'no-console': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: { process: 'readonly', module: 'writable', require: 'readonly', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The docs portal's own browser script (served at /docs/try/console.js).
    files: ['docs/portal/**/*.js'],
    languageOptions: { globals: { window: 'readonly', fetch: 'readonly', URL: 'readonly' } },
  },
  ...roomRules,
  {
    files: ['tests/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
);
