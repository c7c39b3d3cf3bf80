import { A2AError, TaskNotFoundError } from '@a2a-js/sdk/errors';
import { ServerCallContext, type A2ARequestHandler } from '@a2a-js/sdk/server';
import { isApflowError } from 'apflow';
import { callInfo, keepRefusal } from './call-context.ts';
import { invalidParams, unsupported } from './errors.ts';

/**
 * The request handler with its failures made fit for the wire: apflow's own errors (their
 * messages are written for callers) become the nearest A2A error; anything else is logged with
 * its stack and left for the endpoint to answer as "Internal error" (see `hideInternal`).
 */
export function guardHandler(handler: A2ARequestHandler): A2ARequestHandler {
  return new Proxy(handler, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const context = args.at(-1);
        const fail = (error: unknown): never => {
          throw forTheWire(error, context instanceof ServerCallContext ? context : undefined, String(key));
        };
        let out: unknown;
        try {
          out = (value as (...a: unknown[]) => unknown).apply(target, args);
        } catch (error) {
          return fail(error);
        }
        if (isAsyncGenerator(out)) return guardStream(out, fail);
        if (out instanceof Promise) return out.catch(fail);
        return out;
      };
    },
  });
}

async function* guardStream<T>(stream: AsyncGenerator<T>, fail: (error: unknown) => never): AsyncGenerator<T> {
  try {
    yield* stream;
  } catch (error) {
    fail(error);
  }
}

function forTheWire(error: unknown, context: ServerCallContext | undefined, method: string): unknown {
  if (error instanceof A2AError) return error;
  // A spent budget is answered as on every route (HTTP 429, its data): the call's answer takes it from here.
  if (isApflowError(error) && error.code === 'APF_QUOTA_EXCEEDED' && context?.state.has('apflow.call'))
    keepRefusal(callInfo(context).request, error);
  if (isApflowError(error) && error.code !== 'APF_INTERNAL') {
    if (error.code === 'APF_NOT_FOUND') return new TaskNotFoundError(error.message);
    if (error.code === 'APF_INVALID_PARAMS' || error.code === 'APF_INVALID_REQUEST')
      return invalidParams(error.message);
    return unsupported(error.message);
  }
  const log = context?.state.has('apflow.call') ? callInfo(context).log : undefined;
  log?.error({ err: error, method }, 'A2A method failed');
  return error;
}

function isAsyncGenerator(value: unknown): value is AsyncGenerator<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AsyncGenerator)[Symbol.asyncIterator] === 'function' &&
    typeof (value as AsyncGenerator).next === 'function'
  );
}
