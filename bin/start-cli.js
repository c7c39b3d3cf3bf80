import { existsSync } from 'node:fs';

/**
 * Runs the CLI. In a clone (apflow's TypeScript sources beside bin/) apflow runs from its sources,
 * through the TypeScript loader; an installed package runs its build (dist/), plain JavaScript.
 * @param {string[]} args
 */
export async function startCli(args) {
  const sources = existsSync(new URL('../kernel/index.ts', import.meta.url));
  if (sources) await import('./register.js');
  const { runCli } = await import(sources ? '../kernel/cli/cli.ts' : '../dist/kernel/cli/cli.js');
  await runCli(args);
}
