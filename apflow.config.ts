import { defineConfig } from 'apflow';

// The defaults, written out: an embedded SQLite database under ./.data, port 8000, and
// executors hot-loaded from ./executors. Environment variables and flags override these.
export default defineConfig({
  server: { host: '0.0.0.0', port: 8000 },
  database: { url: 'sqlite:./.data/apflow.sqlite' },
  executors: { dirs: ['./executors'] },
});
