import { ApflowError, defineExecutor, isApflowError, type ExecutorContext } from 'apflow';
import type { Type } from 'protobufjs';
import { callServerStream, callUnary, type CallOutcome, type CallPlan } from './call-method.ts';
import { ID } from './executor-id.ts';
import { findMethod } from './find-method.ts';
import { GrpcInputs } from './grpc-inputs.ts';
import { loadGrpcLibs } from './grpc-libs.ts';
import { isFailedStatus, statusError, statusJson } from './grpc-status.ts';
import { metadataJson, toMetadata } from './metadata.ts';
import { openClient } from './open-client.ts';
import { loadProto } from './proto-source.ts';
import { reflectSchema } from './reflection-client.ts';
import { checkRequest } from './request-check.ts';
import { isLocalTooLarge, MAX_BYTES_DEFAULT, responseReader, tooLargeError } from './response-reader.ts';

/** What the executor reads from the plugin's config section (`grpc`). */
export interface GrpcSettings {
  /** Absolute folders `proto_file` and imports may be read from (none: no file is read). */
  proto_dirs: readonly string[];
}

/**
 * `grpc_executor`: one gRPC call (unary or server streaming) described by `.proto` text, a
 * `proto_file` under `grpc.proto_dirs`, or the server's reflection. The host goes through the
 * outbound policy; the deadline is `timeout`; a cancelled or timed-out task cancels the call and
 * destroys its connections.
 */
export function createGrpcExecutor(settings: GrpcSettings) {
  return defineExecutor({
    id: ID,
    name: 'gRPC call',
    description:
      'Calls a gRPC method (server, service, method, request, proto | proto_file | reflection, metadata, timeout, tls, max_messages, max_bytes) and returns the response, metadata and status',
    inputSchema: GrpcInputs,
    secretInputs: ['metadata', 'tls.key'],
    async execute(inputs, ctx) {
      if (inputs.proto !== undefined && inputs.proto_file !== undefined) {
        throw new ApflowError('APF_INVALID_PARAMS', { message: `${ID}: give proto or proto_file, not both` });
      }
      // The deadline starts before the host is checked: the lookup counts in `timeout`.
      const deadline = new Date(Date.now() + (inputs.timeout ?? 30) * 1000);
      const maxBytes = inputs.max_bytes ?? MAX_BYTES_DEFAULT;
      const libs = await loadGrpcLibs();
      const label = `${inputs.service}/${inputs.method}`;
      // A schema given is checked, and the request with it, before any connection is made.
      const given =
        inputs.proto !== undefined
          ? loadProto(libs, { proto: inputs.proto }, settings.proto_dirs)
          : inputs.proto_file !== undefined
            ? loadProto(libs, { proto_file: inputs.proto_file }, settings.proto_dirs)
            : undefined;
      const request = inputs.request ?? {};
      if (given) encodeRequest(findMethod(libs, given, inputs.service, inputs.method).requestType, request, label);
      const metadata = toMetadata(libs, inputs.metadata);
      const channel = await openClient(libs, ctx.outbound, inputs.server, inputs.tls, {
        maxBytes,
        signal: ctx.signal,
      });
      const { client, authority } = channel;
      // Cancel/timeout close the channel and its sockets too (the call is cancelled by its own listener).
      const onAbort = () => channel.close();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      try {
        ctx.signal.throwIfAborted();
        ctx.progress(0.05, `${ID}: ${given ? 'calling' : 'asking reflection for'} ${label} on ${authority}`);
        const root =
          given ??
          (await reflectSchema(libs, client, inputs.service, { metadata, deadline, signal: ctx.signal, authority }));
        const method = findMethod(libs, root, inputs.service, inputs.method);
        const plan: CallPlan = {
          client,
          path: method.path,
          request: encodeRequest(method.requestType, request, label),
          metadata,
          deadline,
          signal: ctx.signal,
          reader: responseReader(method.responseType, maxBytes, label),
        };
        const outcome = method.responseStream
          ? await callServerStream(plan, inputs.max_messages ?? 1000, (count) => streamProgress(ctx, label, count))
          : await callUnary(plan);
        return resultOf(outcome, method.responseStream);
      } catch (error) {
        if (ctx.signal.aborted || isApflowError(error) || !isFailedStatus(error)) throw error;
        // grpc-js refusing a message over max_bytes: asking again brings the same message.
        if (isLocalTooLarge(error)) throw tooLargeError(label, maxBytes);
        // grpc-js only sees the relay: what happened on the way to the server is told here.
        const upstream = channel.relay.lastError();
        throw statusError(label, upstream ? { ...error, details: `${error.details} (${upstream.message})` } : error);
      } finally {
        ctx.signal.removeEventListener('abort', onAbort);
        channel.close();
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

/** The request checked against its message type (see {@link checkRequest}), then encoded. */
function encodeRequest(type: Type, request: Record<string, unknown>, label: string): Buffer {
  checkRequest(type, request, label);
  return Buffer.from(type.encode(type.fromObject(request)).finish());
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
