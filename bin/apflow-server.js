#!/usr/bin/env node
// `apflow-server [options]` is `apflow serve [options]`, as in the guide.
import './register.js';

const { runCli } = await import('../kernel/cli/cli.ts');
await runCli(['serve', ...process.argv.slice(2)]);
