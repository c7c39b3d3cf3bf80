import tseslint from 'typescript-eslint';

// The kernel's tables (kernel/storage/migrations, and the record of the migrations run): plugins reach
// tasks and events through `app.tasks` and `app.engine`, and keep their own `<plugin>_…` tables.
const KERNEL_TABLES = /\bapflow_(tasks|task_events|event_batches|servers|migrations|idempotency_keys)\b/;
const kernelTableRules = ['Literal', 'TemplateElement'].map((node) => ({
  selector: `${node}[${node === 'Literal' ? 'value' : 'value.raw'}=${KERNEL_TABLES}]`,
  message: "plugins do not query the kernel's tables: use app.tasks / app.engine, or a table of the plugin's own",
}));
const methodNotFoundRule = {
  selector: ":matches(BinaryExpression, SwitchCase) > UnaryExpression[operator='-'][argument.value=32601]",
  message: "compare the ApflowError's code (error.code === 'APF_METHOD_NOT_FOUND'), not the JSON-RPC wire code",
};
const pluginSyntaxRules = [
  ...kernelTableRules,
  {
    selector: ':matches(TSAsExpression, TSTypeAssertion) > MemberExpression.expression[property.name="settings"]',
    message: 'app.settings is typed by the schema of definePlugin({ config }): no casts',
  },
  methodNotFoundRule,
];

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
    // Plugins and extensions use the public `apflow` entry only, and what `PluginApp` hands out.
    files: ['plugins/**/*.ts', 'extensions/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/kernel/**', 'apflow/*'], message: "import from 'apflow', not from kernel paths" }] },
      ],
      'no-restricted-syntax': ['error', ...pluginSyntaxRules],
    },
  },
  {
    // apflow/client runs in browsers: types only from the server's code, and no Node module.
    files: ['client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/kernel/**', '**/plugins/**', 'apflow', 'node:*'],
              allowTypeImports: true,
              message: 'apflow/client runs in browsers: import only types from the server (import type)',
            },
          ],
        },
      ],
    },
  },
  {
    // It counts the wire answers it observes: -32601 there is the reply's code, not a call's error.
    files: ['plugins/metrics/http-observer.ts'],
    rules: { 'no-restricted-syntax': ['error', ...pluginSyntaxRules.filter((rule) => rule !== methodNotFoundRule)] },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.js'],
    rules: { 'no-console': 'off' },
  },
);
