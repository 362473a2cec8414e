// ESLint flat config: @eslint/js and typescript-eslint recommended rules over every package's
// sources, tests, benches, tools and examples. Built output, run artefacts and coverage are not linted.
// Type-aware rules are not enabled: the machine (2 cores, shared) could not give a trustworthy time for them.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['**/dist/**', 'examples/browser/dist/**', 'runs/**', '**/coverage/**', '**/node_modules/**', '**/.turbo/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `const { backbone: _b, ...fixed } = DEFAULTS` is how the adapters drop keys from an object;
      // the rest sibling is what is used, so named-but-dropped siblings are not unused variables.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // digits-det's `/// <reference path="./mnist.d.ts" />` is how tsup's declaration build (which
      // starts from the entry file, not from tsconfig's include) finds the ambient 'mnist' module;
      // the untyped CommonJS package has no types to import instead. Type references stay banned.
      '@typescript-eslint/triple-slash-reference': ['error', { path: 'always', types: 'prefer-import', lib: 'always' }],
    },
  },
  {
    // The browser example runs in a page, not in Node.
    files: ['examples/browser/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // CommonJS files (.cjs) have no import syntax: require() is how they load modules.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
