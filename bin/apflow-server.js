#!/usr/bin/env node
// `apflow-server [options]` is `apflow serve [options]`, as in the guide.
import { startCli } from './start-cli.js';

await startCli(['serve', ...process.argv.slice(2)]);
