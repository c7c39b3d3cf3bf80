// Lets Node load TypeScript (tsx, for ES modules and CommonJS alike) and installs apflow's loader
// hooks (loader-hooks.js). `node --import apflow/register` does it at start; the installed CLI
// does it only before the first of the user's own files loads (kernel/internal/user-loader.ts),
// so a server with none starts without them.
import 'tsx';
import { existsSync } from 'node:fs';
import { register } from 'node:module';

// In a clone apflow's TypeScript sources sit beside bin/, and it runs from them.
const sources = existsSync(new URL('../kernel/index.ts', import.meta.url));
register('./loader-hooks.js', import.meta.url, { data: { sources } });
// Read by kernel/internal/user-loader.ts: the build then imports user files through these hooks.
globalThis[Symbol.for('apflow.user-loader')] = true;
