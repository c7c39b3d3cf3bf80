import { statfs } from 'node:fs/promises';
import os from 'node:os';
import { defineExecutor, Type } from 'apflow';

/** `system_info_executor`: CPU, memory and disk facts of the machine running the task. */
export const systemInfoExecutor = defineExecutor({
  id: 'system_info_executor',
  name: 'System info',
  description: 'Reports CPU, memory and disk information (resource: cpu, memory, disk or all)',
  inputSchema: Type.Object({
    resource: Type.Optional(
      Type.Union([Type.Literal('cpu'), Type.Literal('memory'), Type.Literal('disk'), Type.Literal('all')]),
    ),
  }),
  async execute(inputs) {
    const resource = inputs.resource ?? 'all';
    if (resource === 'cpu') return cpu();
    if (resource === 'memory') return memory();
    if (resource === 'disk') return disk();
    return { cpu: cpu(), memory: memory(), disk: await disk() };
  },
});

function cpu() {
  const cpus = os.cpus();
  return {
    system: os.platform(),
    architecture: os.arch(),
    brand: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    threads: os.availableParallelism(),
    load_average: os.loadavg(),
  };
}

function memory() {
  const total = os.totalmem();
  const free = os.freemem();
  return {
    total_bytes: total,
    available_bytes: free,
    used_bytes: total - free,
    percent_used: round(((total - free) / total) * 100),
  };
}

async function disk() {
  const stats = await statfs(process.cwd());
  const total = stats.blocks * stats.bsize;
  const free = stats.bavail * stats.bsize;
  return {
    path: process.cwd(),
    total_bytes: total,
    free_bytes: free,
    used_bytes: total - free,
    percent_used: total ? round(((total - free) / total) * 100) : 0,
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
