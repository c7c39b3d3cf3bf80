#!/usr/bin/env node
import { startCli } from './start-cli.js';

await startCli(process.argv.slice(2));
