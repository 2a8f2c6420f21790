// @ts-check
// @file ESLint (flat config): the recommended sets of ESLint, typescript-eslint and eslint-plugin-svelte, with every
// rule that Prettier owns turned off (eslint-config-prettier). Layout is Prettier's job (`npm run format`); ESLint
// catches bugs and the few long lines Prettier cannot wrap. `npm run lint` fails on any finding (`--max-warnings 0`):
// a rule here is an error or off, never a warning.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';
import svelteConfig from './svelte.config.js';

export default ts.config(
  {
    // Besides these, ESLint never lints node_modules/ and .git/. Python (tools/**/*.py) and WGSL are not JavaScript.
    ignores: [
      'dist/',
      'public/',
      'test-results/',
      'playwright-report/',
      '.vitest/',
      '.tmp/',
      'bench-bundle/',
      '.gl/',
      'tests/fixtures/',
    ],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  ...ts.configs.recommended,
  ...svelte.configs.recommended,
  prettier,
  ...svelte.configs.prettier,
  {
    // The app (main thread, worker, service worker) and the browser-mode tests run in a browser.
    files: ['src/**', 'tests/gpu/**', 'tests/helpers/**'],
    languageOptions: { globals: { ...globals.browser, ...globals.worker } },
  },
  {
    // Node: the CLI, scripts, tools, configs, the unit and end-to-end tests, the test servers.
    files: [
      'src/cli/**/*.mjs',
      'bin/**',
      'scripts/**',
      'tools/**',
      'tests/unit/**',
      'tests/e2e/**',
      'tests/helpers/**/*.mjs',
      '*.config.{js,ts}',
    ],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    // Svelte components and rune modules (.svelte.ts): the Svelte parser hands the script to the TypeScript parser.
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      parserOptions: { parser: ts.parser, extraFileExtensions: ['.svelte'], svelteConfig },
    },
  },
  {
    rules: {
      // `const { image: _, ...rest } = run` is the house idiom for dropping a key: the named sibling is not a leftover.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // Recommended as warnings; a left-over {@debug} or $inspect() is a debugging leftover, so an error here.
      'svelte/no-at-debug-tags': 'error',
      'svelte/no-inspect': 'error',
      // Prettier wraps code at 120 but cannot split a comment, a string or a Svelte block tag: those are checked here.
      // Core `max-len` is deprecated (kept until ESLint 11); @stylistic/max-len is the drop-in replacement.
      'max-len': [
        'error',
        {
          code: 120,
          tabWidth: 2,
          ignoreUrls: true,
          ignoreRegExpLiterals: true,
          // Import and re-export lines: Prettier keeps a single long specifier on one line.
          ignorePattern: String.raw`^\s*(import|export)\b.*\bfrom\s+['"][^'"]+['"];?$`,
        },
      ],
    },
  },
);
