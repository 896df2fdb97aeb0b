// ESLint for the hops JupyterLab extension: typescript-eslint's type-checked recommended rules on src/, plus a
// few that keep the DOM code honest; plain recommended rules on the .mjs files. `make lint` runs it with
// --max-warnings=0.

import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const common = {
  curly: ['error', 'all'],
  eqeqeq: ['error', 'smart'],
  'no-console': 'error',
  'prefer-const': 'error'
};

export default tseslint.config(
  { ignores: ['lib/', 'labextension/', 'node_modules/'] },
  {
    files: ['src/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname
      }
    },
    rules: {
      ...common,
      // Server data reaches the page through textContent only.
      'no-restricted-properties': [
        'error',
        { property: 'innerHTML', message: 'Build DOM with createElement and textContent.' },
        { property: 'outerHTML', message: 'Build DOM with createElement and textContent.' },
        { property: 'insertAdjacentHTML', message: 'Build DOM with createElement and textContent.' }
      ],
      '@typescript-eslint/explicit-function-return-type': ['error', { allowExpressions: true }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error'
    }
  },
  {
    files: ['**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: {
      globals: { console: 'readonly', process: 'readonly' }
    },
    rules: { ...common, 'no-console': 'off' }
  }
);
