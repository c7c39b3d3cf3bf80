import { definePlugin, Type, version } from 'apflow';
import { aggregateResultsExecutor } from './aggregate-results.ts';
import { apflowApiExecutor } from './apflow-api.ts';
import { createCommandExecutor } from './command.ts';
import { restExecutor } from './rest.ts';
import { scrapeExecutor } from './scrape.ts';
import { systemInfoExecutor } from './system-info.ts';
import { websocketExecutor } from './websocket.ts';

const Settings = Type.Object(
  {
    command: Type.Object(
      {
        enabled: Type.Optional(Type.Boolean()),
        allow: Type.Optional(Type.Array(Type.String())),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

const truthy = (value: string | undefined) => ['1', 'true', 'yes', 'on'].includes((value ?? '').toLowerCase());
const envList = (value: string | undefined) =>
  value
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
    : [];
// As the kernel's own variables: the first set, non-empty name wins.
const fromEnv = (...names: string[]) =>
  names.map((name) => process.env[name]).find((value) => value !== undefined && value !== '');

/**
 * The executors every apflow has: system info, aggregation, REST calls, WebSocket exchanges, page
 * scraping, runs on other apflow servers and (opt-in) commands.
 */
export default definePlugin({
  name: 'builtin-executors',
  version,
  config: { key: 'builtin_executors', schema: Settings },
  setup(app) {
    const settings = app.settings;
    const enabled =
      settings.command?.enabled ?? truthy(fromEnv('APFLOW_STDIO_ALLOW_COMMAND', 'AIPARTNERUPFLOW_STDIO_ALLOW_COMMAND'));
    const allow =
      settings.command?.allow ??
      envList(fromEnv('APFLOW_STDIO_COMMAND_WHITELIST', 'AIPARTNERUPFLOW_STDIO_COMMAND_WHITELIST'));
    app.executors.register(systemInfoExecutor);
    app.executors.register(aggregateResultsExecutor);
    app.executors.register(restExecutor);
    app.executors.register(createCommandExecutor({ enabled, allow }));
    app.executors.register(websocketExecutor);
    app.executors.register(scrapeExecutor);
    app.executors.register(apflowApiExecutor);
  },
});
