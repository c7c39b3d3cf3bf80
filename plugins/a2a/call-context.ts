import { ServerCallContext } from '@a2a-js/sdk/server';
import type { ApflowError, Logger, Principal, RequestContext } from 'apflow';

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

/** Where a call's quota refusal waits for its answer (the request's plugin state). */
const REFUSAL = Symbol('apflow.a2a.refusal');

/** Keeps a refusal the SDK would turn into an A2A error, for the call's answer to give as it is. */
export function keepRefusal(request: RequestContext, error: ApflowError): void {
  (request.state as Record<symbol, unknown>)[REFUSAL] = error;
}

/** The refusal kept for `request`, if any. */
export function keptRefusal(request: RequestContext): ApflowError | undefined {
  return (request.state as Record<symbol, unknown>)[REFUSAL] as ApflowError | undefined;
}
