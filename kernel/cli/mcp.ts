import { ApflowError } from '../errors/apflow-error.ts';
import { openForCommand } from './open-tasks.ts';

/** The part of the mcp plugin's service this command uses. */
interface McpService {
  serveStdio(options: { userId?: string; admin?: boolean }): Promise<void>;
}

/**
 * `apflow mcp [--user-id ID] [--admin]`: an MCP server on standard input and output for desktop
 * clients that start a command, on the configured database. Stdout carries only MCP messages;
 * logs go to stderr. Ends when the client closes standard input.
 */
export async function mcpCommand(options: { config?: string; userId?: string; admin?: boolean }): Promise<void> {
  if (options.admin && !options.userId)
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: '--admin needs --user-id (the administrator the session acts as)',
    });
  const app = await openForCommand(options);
  try {
    const mcp = (app.service as (name: string) => McpService | undefined)('mcp');
    if (!mcp)
      throw new ApflowError('APF_CONFIG_INVALID', {
        message: 'the mcp plugin is disabled (disabled_plugins), so there is no MCP server',
      });
    await mcp.serveStdio({
      userId: options.userId === undefined ? undefined : String(options.userId),
      admin: options.admin === true,
    });
  } finally {
    await app.close();
  }
}
