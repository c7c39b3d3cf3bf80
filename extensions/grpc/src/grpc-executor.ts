import { ApflowError, defineExecutor, isApflowError, type ExecutorContext } from 'apflow';
import { errorText } from './error-text.ts';
import type { MethodDefinition } from '@grpc/proto-loader';
import { callServerStream, callUnary, type CallOutcome, type CallPlan } from './call-method.ts';
import { GrpcInputs } from './grpc-inputs.ts';
import { findMethod } from './find-method.ts';
import { loadGrpcLibs } from './grpc-libs.ts';
import { isFailedStatus, statusError, statusJson } from './grpc-status.ts';
import { metadataJson, toMetadata } from './metadata.ts';
import { openClient } from './open-client.ts';
import { loadProto } from './proto-source.ts';
import { reflectSchema } from './reflection-client.ts';

const ID = 'grpc_executor';

/** What the executor reads from the plugin's config section (`grpc`). */
export interface GrpcSettings {
  /** Absolute folders `proto_file` and imports may be read from (none: no file is read). */
  proto_dirs: readonly string[];
}

/**
 * `grpc_executor`: one gRPC call (unary or server streaming) described by `.proto` text, a
 * `proto_file` under `grpc.proto_dirs`, or the server's reflection. The host goes through the
 * outbound policy; the deadline is `timeout`; a cancelled or timed-out task cancels the call.
 */
export function createGrpcExecutor(settings: GrpcSettings) {
  return defineExecutor({
    id: ID,
    name: 'gRPC call',
    description:
      'Calls a gRPC method (server, service, method, request, proto | proto_file | reflection, metadata, timeout, tls) and returns the response, metadata and status',
    inputSchema: GrpcInputs,
    secretInputs: ['metadata', 'tls.key'],
    async execute(inputs, ctx) {
      if (inputs.proto !== undefined && inputs.proto_file !== undefined) {
        throw new ApflowError('APF_INVALID_PARAMS', { message: `${ID}: give proto or proto_file, not both` });
      }
      const libs = await loadGrpcLibs();
      const label = `${inputs.service}/${inputs.method}`;
      // A schema given is checked before any connection is made.
      const given =
        inputs.proto !== undefined
          ? loadProto(libs, { proto: inputs.proto }, settings.proto_dirs)
          : inputs.proto_file !== undefined
            ? loadProto(libs, { proto_file: inputs.proto_file }, settings.proto_dirs)
            : undefined;
      const metadata = toMetadata(libs, inputs.metadata);
      const { client, authority } = await openClient(libs, ctx.outbound, inputs.server, inputs.tls);
      const deadline = new Date(Date.now() + (inputs.timeout ?? 30) * 1000);
      // Cancel/timeout close the channel too (the call itself is cancelled by its own listener).
      const onAbort = () => client.close();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      try {
        // Cancelled while the host was being checked: nothing is called.
        ctx.signal.throwIfAborted();
        ctx.progress(0.05, `${ID}: ${given ? 'calling' : 'asking reflection for'} ${label} on ${authority}`);
        const definition =
          given ??
          (await reflectSchema(libs, client, inputs.service, { metadata, deadline, signal: ctx.signal, authority }));
        const method = findMethod(definition, inputs.service, inputs.method);
        const request = checkRequest(method, inputs.request ?? {}, label);
        const plan: CallPlan = { client, method, request, metadata, deadline, signal: ctx.signal };
        const outcome = method.responseStream
          ? await callServerStream(plan, inputs.max_messages ?? 1000, (count) => streamProgress(ctx, label, count))
          : await callUnary(plan);
        return resultOf(outcome, method.responseStream);
      } catch (error) {
        if (ctx.signal.aborted || isApflowError(error) || !isFailedStatus(error)) throw error;
        throw statusError(label, error);
      } finally {
        ctx.signal.removeEventListener('abort', onAbort);
        client.close();
      }
    },
    demoResult(inputs) {
      return {
        demo: true,
        response: { message: `demo response of ${inputs.service}/${inputs.method}: no call was made` },
        metadata: { 'content-type': 'application/grpc' },
        trailers: {},
        status: { code: 0, name: 'OK', details: '' },
      };
    },
  });
}

/** The request, checked by serializing it once: a value of the wrong type fails here, clearly. */
function checkRequest(method: MethodDefinition<object, object>, request: object, label: string): object {
  try {
    method.requestSerialize(request);
  } catch (error) {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `${ID}: the request does not fit ${label}'s request message: ${errorText(error)}`,
    });
  }
  return request;
}

function streamProgress(ctx: ExecutorContext, label: string, count: number): void {
  // The number of messages is not known in advance: progress approaches 0.95 as they come.
  ctx.progress(0.05 + 0.9 * (count / (count + 10)), `${ID}: ${label}: ${count} message${count === 1 ? '' : 's'}`);
}

function resultOf(outcome: CallOutcome, streaming: boolean) {
  return {
    response: outcome.response,
    metadata: metadataJson(outcome.headers),
    trailers: metadataJson(outcome.status.metadata),
    status: statusJson(outcome.status),
    ...(streaming
      ? {
          message_count: Array.isArray(outcome.response) ? outcome.response.length : 0,
          truncated: outcome.truncated === true,
        }
      : {}),
  };
}
