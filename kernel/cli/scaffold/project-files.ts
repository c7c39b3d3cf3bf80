import { version } from '../../internal/version.ts';
import { executorFiles } from './skeletons.ts';

/**
 * The files `apflow init` writes, by path. The config lists every section commented out, each
 * line a valid setting once its `// ` is removed (a test uncomments them all and loads it).
 */
export function projectFiles(name: string): Record<string, string> {
  return {
    'package.json': `${JSON.stringify(
      {
        name,
        private: true,
        type: 'module',
        engines: { node: '>=20.19' },
        scripts: {
          start: 'apflow serve',
          dev: 'apflow serve --reload',
          test: 'apflow test',
          typecheck: 'tsc',
        },
        dependencies: { apflow: `^${version}` },
        devDependencies: { '@types/node': '^20.19.0', typescript: '^5.9.3' },
        // npm asks before running install scripts: sqlite3 builds its database driver, esbuild
        // (TypeScript for your files) checks its binary.
        allowScripts: { sqlite3: true, esbuild: true },
      },
      null,
      2,
    )}\n`,
    'apflow.config.ts': CONFIG,
    'tsconfig.json': TSCONFIG,
    ...executorFiles('hello'),
    '.gitignore': 'node_modules/\n.data/\n',
    'README.md': `# ${name}\n\nAn [apflow](https://www.npmjs.com/package/apflow) server: \`npm install\`, then \`npm start\` (http://localhost:8000, dashboard on /ui).\nExecutors live in \`executors/\` and reload when saved; \`npm test\` runs their tests (\`apflow test\`).\nNew ones: \`npx apflow new executor NAME\`, \`npx apflow new plugin NAME\`.\nSettings: \`apflow.config.ts\` (every section is there, commented out).\n`,
  };
}

/** The compiler options of a new project's tsconfig.json (the docs' examples are checked with them too). */
export const projectCompilerOptions = {
  target: 'ES2022',
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  noEmit: true,
  allowImportingTsExtensions: true,
  verbatimModuleSyntax: true,
  skipLibCheck: true,
  types: ['node'],
};

// For editors and `npm run typecheck`: apflow itself runs the files without a build.
const TSCONFIG = `${JSON.stringify(
  {
    compilerOptions: projectCompilerOptions,
    include: ['apflow.config.ts', 'executors', 'plugins'],
  },
  null,
  2,
)}\n`;

const CONFIG = `import { defineConfig } from 'apflow';

// Every setting has a default; remove the // of a line to set it. Environment variables and
// command-line flags override this file (APFLOW_PORT, --port, ...).
export default defineConfig({
  // server: { host: '127.0.0.1', port: 8000, workers: 1, base_url: 'https://apflow.example.com', cors_origins: [] },
  database: { url: 'sqlite:./.data/apflow.sqlite' }, // or 'postgresql://user:pass@host/db'
  executors: { dirs: ['./executors'] }, // folders of executor files, reloaded when saved
  // plugins: ['@apflow/crewai', '@apflow/llm-key-config'], // extensions (npm install them first)
  // disabled_plugins: ['dashboard', 'examples'], // built-in plugins to turn off
  // auth: { enabled: true, jwt_secret: process.env.APFLOW_JWT_SECRET }, // JWT auth, user isolation
  // jwt_auth: { login_max_attempts: 10, login_window_s: 300, token_recheck_s: 5 },
  // outbound: { allow_private: false, allow_hosts: ['localhost'], deny_hosts: [] }, // what tasks may reach
  // engine: { concurrency: 64, per_user_concurrency: 8, default_timeout_s: 600, max_tree_size: 100000 },
  // builtin_executors: { command: { enabled: true, allow: ['echo'] } }, // the command executor
  // mcp: { client: { timeout_s: 30 } }, // MCP calls from tasks (mcp_executor)
  // metrics: { token: process.env.APFLOW_METRICS_TOKEN }, // protects /metrics
  // websocket: { max_connections_per_ip: 64 },
  // examples: { auto_init: false }, // no example trees on a new database
  // a2a: { name: 'my agent', description: 'what it does' }, // the A2A agent card
  // log: { level: 'info', format: 'auto' }, // json, pretty or auto
  // reload: true, // reload local plugins when they change (npm run dev)
});
`;
