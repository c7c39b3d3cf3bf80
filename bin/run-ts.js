#!/usr/bin/env node
// Runs a TypeScript file with apflow's loader (used by `npm run bench` and scripts).
import './register.js';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: run-ts FILE.ts [args...]\n');
  process.exit(2);
}
process.argv.splice(1, 1);
await import(pathToFileURL(resolve(file)).href);
