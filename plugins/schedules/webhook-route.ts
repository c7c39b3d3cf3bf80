import { ApflowError, isRecord, type PluginApp } from 'apflow';
import type { ScheduleService } from './schedule-service.ts';
import type { SchedulesConfig } from './settings.ts';
import { checkSignature, SIGNATURE_HEADER } from './webhook-signature.ts';

// Only stands in for the auth hook on this route: the handler checks the signature itself, and
// this principal owns nothing.
const SIGNED = { user_id: 'apflow:webhook', roles: [] };

/**
 * What a webhook body becomes: a JSON object is merged into the root's inputs (over the
 * schedule's `inputs`); any other JSON value arrives as `{ payload: value }`; no body adds nothing.
 */
export function webhookInputs(body: Buffer): Record<string, unknown> | null {
  if (body.length === 0) return null;
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ApflowError('APF_PARSE_ERROR', { message: 'the webhook body is not valid JSON' });
  }
  return isRecord(value) ? value : { payload: value };
}

/**
 * `POST /webhooks/:trigger_id`: fires the schedule of the trigger when the request carries a
 * valid `Apflow-Signature`; 401 and nothing stored otherwise; 409 for a replay of a request
 * that fired it already, or while the schedule is paused.
 */
export function mountWebhookRoute(app: PluginApp, service: ScheduleService, settings: SchedulesConfig): void {
  void app.http.register(async (scope) => {
    // The signature is over the raw bytes: this route reads its body unparsed.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: settings.webhook_max_bytes }, (_r, body, done) =>
      done(null, body),
    );
    scope.post<{ Params: { trigger_id: string } }>(
      '/webhooks/:trigger_id',
      {
        config: {
          credential: (request) => (request.headers[SIGNATURE_HEADER] !== undefined ? SIGNED : undefined),
        },
      },
      async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const row = await service.byWebhook(request.params.trigger_id);
        if (!row?.webhook_key)
          throw new ApflowError('APF_NOT_FOUND', { message: `Webhook trigger ${request.params.trigger_id} not found` });
        const header = request.headers[SIGNATURE_HEADER];
        const check = checkSignature(
          typeof header === 'string' ? header : undefined,
          body,
          app.secrets.open(row.webhook_key),
          Date.now(),
          settings.webhook_tolerance_s,
        );
        if (!check.ok) throw new ApflowError('APF_UNAUTHENTICATED', { message: `Webhook refused: ${check.reason}` });
        if (!row.enabled)
          throw new ApflowError('APF_CONFLICT', { message: `Schedule ${row.id} is paused: the webhook fired nothing` });
        const fired = await service.fireWebhook(row, check.signature, webhookInputs(body));
        return reply.status(202).send(fired);
      },
    );
  });
}
