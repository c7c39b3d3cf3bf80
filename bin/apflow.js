#!/usr/bin/env node
import './register.js';

const { runCli } = await import('../kernel/cli/cli.ts');
await runCli(process.argv.slice(2));
