import { ApflowError } from '../errors/apflow-error.ts';
import { openForCommand } from './open-tasks.ts';

/** The part of the examples plugin's service this command uses. */
interface ExamplesService {
  init(options?: { force?: boolean }): Promise<{
    created: { id: string; name: string }[];
    existing: { id: string; name: string }[];
    skipped: { id: string; name: string; reason: string }[];
  }>;
}

/**
 * `apflow examples init [--force]`: creates the example task trees in the configured database
 * (those missing), or with `--force` deletes the example trees and creates them again.
 */
export async function examplesCommand(action: string, options: { config?: string; force?: boolean }): Promise<void> {
  if (action !== 'init')
    throw new ApflowError('APF_INVALID_PARAMS', { message: `unknown examples action '${action}' (use init)` });
  const app = await openForCommand(options);
  try {
    // The kernel does not import plugins: the service's shape is declared above.
    const examples = (app.service as (name: string) => ExamplesService | undefined)('examples');
    if (!examples)
      throw new ApflowError('APF_CONFIG_INVALID', {
        message: 'the examples plugin is disabled (disabled_plugins), so there are no examples to create',
      });
    const report = await examples.init({ force: options.force === true });
    for (const tree of report.created) process.stdout.write(`created ${tree.id}\t${tree.name}\n`);
    for (const tree of report.skipped) process.stdout.write(`skipped ${tree.id}\t${tree.name}: ${tree.reason}\n`);
    if (report.existing.length > 0) {
      process.stdout.write(
        `examples already exist: ${report.existing.map((tree) => tree.id).join(', ')} (use --force to re-create them)\n`,
      );
    }
  } finally {
    await app.close();
  }
}
