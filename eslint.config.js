import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', '.scratch/**', 'test/fixtures/**/broken*', '**/dist/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // The kernel never reaches into plugins or extensions (DESIGN.md §1).
    files: ['kernel/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/plugins/**', '**/extensions/**'], message: 'kernel/ must not import plugins or extensions' },
          ],
        },
      ],
    },
  },
  {
    // Plugins and extensions use the public `apflow` entry only.
    files: ['plugins/**/*.ts', 'extensions/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/kernel/**', 'apflow/*'], message: "import from 'apflow', not from kernel paths" }] },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.js'],
    rules: { 'no-console': 'off' },
  },
);
