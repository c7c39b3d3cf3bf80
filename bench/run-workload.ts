// Runs one workload of bench/workloads.ts and prints its figures as one JSON line.
import { workloads } from './workloads.ts';

const name = process.argv[2] as string;
const workload = workloads[name];
if (!workload) {
  process.stderr.write(`unknown workload '${name}' (known: ${Object.keys(workloads).join(', ')})\n`);
  process.exit(2);
}
const figures = await workload();
process.stdout.write(`${JSON.stringify(figures)}\n`);
process.exit(0);
