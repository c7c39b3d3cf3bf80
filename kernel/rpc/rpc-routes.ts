import type { FastifyInstance } from 'fastify';
import { ApflowError } from '../errors/apflow-error.ts';
import { toRpcResponse } from '../http/error-mapping.ts';
import { errorMessage } from '../internal/error-message.ts';
import { dispatchRpc } from './rpc-dispatch.ts';
import type { RpcRegistry } from './rpc-registry.ts';

/**
 * Mounts `POST <endpoint>` for every endpoint that has methods. Only JSON content types reach
 * here (create-http refuses other bodies with 415 first); the body is read as text and parsed
 * here, whatever its charset parameter, so a malformed body gets the JSON-RPC parse error
 * (-32700) rather than a framework error page.
 */
export function mountRpcRoutes(fastify: FastifyInstance, registry: RpcRegistry): void {
  const endpoints = registry.endpoints();
  if (endpoints.length === 0) return;
  void fastify.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    for (const endpoint of endpoints) {
      scope.post(endpoint, { config: { rpc: true } }, async (request, reply) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(typeof request.body === 'string' ? request.body : '');
        } catch (error) {
          const failure = toRpcResponse(
            new ApflowError('APF_PARSE_ERROR', { message: `Parse error: ${errorMessage(error)}` }),
            null,
          );
          return reply.status(failure.status).send(failure.body);
        }
        const idempotencyKey = request.headers['idempotency-key'];
        const outcome = await dispatchRpc(registry, parsed, {
          endpoint,
          request: request.apflow,
          principal: request.apflow.principal,
          reply,
          log: request.log,
          ...(typeof idempotencyKey === 'string' ? { idempotencyKey } : {}),
        });
        if (reply.sent) return reply;
        return reply.status(outcome.status).send(outcome.body);
      });
    }
  });
}
