// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.data/**', 'libs/client/dist/**', 'apps/demo/dist/**', 'coverage/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A promise nobody awaits or catches loses its error (and, in a handler, its order).
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // Unused arguments are allowed when named `_x` (interface implementations).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-console': 'error',
    },
  },
  // Module boundaries (STYLE.md): who may import whom. Specs may reach across to build fixtures.
  {
    files: ['apps/api/src/{task,event,points-ledger,user-streak,badge,conflict}/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '(^|/)sync/', message: 'An entity module implements @app/sync-contract; it never imports the sync module.' },
            { regex: '(^|/)(realtime|gamification)/', message: 'An entity module does not depend on realtime or gamification.' },
          ],
        },
      ],
    },
  },
  {
    files: ['apps/api/src/sync/**/*.ts'],
    ignores: ['**/*.spec.ts', '**/*.fixtures.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(task|event|points-ledger|user-streak|badge|conflict|realtime|gamification)/',
              message: 'The sync module knows entity types only through its registry (@SyncEntity), and never realtime or gamification.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['libs/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)apps/', message: 'Libraries never import the apps.' }] }],
    },
  },
  {
    files: ['libs/sync-contract/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: '@app/database', message: 'The contract hands out no database handle (hooks get HookSql).' },
            { name: 'pg', message: 'The contract hands out no database handle (hooks get HookSql).' },
          ],
          patterns: [{ regex: '(^|/)apps/', message: 'Libraries never import the apps.' }],
        },
      ],
    },
  },
  {
    // CommonJS tool files (the client's jest transform).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Tests and the benchmark print their measurements.
    files: ['test/**/*.ts', '**/*.spec.ts', '**/*.e2e-spec.ts'],
    rules: { 'no-console': 'off' },
  },
);
