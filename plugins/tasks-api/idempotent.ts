import { ApflowError, isRecord, type Checkpoint, type PluginApp, type RpcContext } from 'apflow';

/**
 * The idempotency key of a call: its `idempotency_key` param, or the `Idempotency-Key` header of
 * its HTTP request. The header names one call: in a batch each call gives its own param.
 */
export function idempotencyKey(app: PluginApp, ctx: RpcContext, params: unknown): string | undefined {
  const param = isRecord(params) ? params.idempotency_key : undefined;
  const key = param === undefined ? undefined : app.idempotency.checkKey(param, 'params.idempotency_key');
  const header = ctx.idempotencyKey;
  if (header === undefined) return key;
  if (ctx.batch)
    throw new ApflowError('APF_INVALID_PARAMS', {
      message:
        'Invalid params: the Idempotency-Key header names one call, not a batch: give each call of the batch its own params.idempotency_key',
    });
  const fromHeader = app.idempotency.checkKey(header, 'the Idempotency-Key header');
  if (key !== undefined && key !== fromHeader)
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: 'Invalid params: the Idempotency-Key header and params.idempotency_key differ: give one key',
    });
  return fromHeader;
}

/** `params` without `idempotency_key` (what a retry must repeat; the key is not part of it). */
export function withoutKey(params: unknown): unknown {
  if (!isRecord(params) || !Object.hasOwn(params, 'idempotency_key')) return params;
  const { idempotency_key: _key, ...rest } = params;
  return rest;
}

/**
 * Runs `work` for the call, once per idempotency key of the caller when the call has a key
 * (`app.idempotency`): a retry gets the first call's answer, a different call with the key
 * `APF_CONFLICT`. `work`'s answer is stored: it must be the wire answer (a streamed answer's
 * {@link import('./stream-run.ts').StreamStart}). Work that records a `checkpoint` (the run it
 * began) is never begun twice: when its attempt is gone, a retry answers through `resume`.
 */
export function idempotent<T>(
  app: PluginApp,
  ctx: RpcContext,
  params: unknown,
  work: (checkpoint?: Checkpoint) => Promise<T>,
  resume?: (checkpoint: unknown) => Promise<T>,
): Promise<T> {
  const key = idempotencyKey(app, ctx, params);
  if (key === undefined) return work();
  return app.idempotency.once(
    { key, userId: ctx.principal?.user_id ?? null, method: ctx.method, params: withoutKey(params) },
    work,
    resume,
  );
}
