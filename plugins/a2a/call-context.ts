import { ServerCallContext } from '@a2a-js/sdk/server';
import type { Logger, Principal, RequestContext } from 'apflow';

/** The A2A protocol versions apflow speaks. */
export type A2aVersion = '0.3' | '1.0';

/** What apflow knows of the caller of one A2A call. */
export interface CallInfo {
  principal: Principal | undefined;
  request: RequestContext;
  log: Logger;
  version: A2aVersion;
}

const KEY = 'apflow.call';

/** The SDK's call context, carrying apflow's {@link CallInfo}. */
export function callContext(info: CallInfo): ServerCallContext {
  return new ServerCallContext({
    requestedVersion: info.version,
    user: info.principal ? { isAuthenticated: true, userName: info.principal.user_id } : undefined,
    state: new Map([[KEY, info]]),
  });
}

/** The {@link CallInfo} of a call context made by {@link callContext}. */
export function callInfo(context: ServerCallContext): CallInfo {
  const info = context.state.get(KEY) as CallInfo | undefined;
  if (!info) throw new Error('A2A call context without apflow call info');
  return info;
}
