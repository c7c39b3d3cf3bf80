import { ApflowError, isRecord } from 'apflow';

/** Where and how the events of one tree are sent (`webhook_config` of `tasks.execute`). */
export interface WebhookConfig {
  url: string;
  headers?: Record<string, string>;
  method?: 'POST' | 'PUT';
  /** Seconds one request may take (default 30). */
  timeout?: number;
  /** Retries after a 5xx answer or a network error (default 3). */
  max_retries?: number;
}

const invalid = (message: string) => new ApflowError('APF_INVALID_PARAMS', { message });

/** Checks a `webhook_config` object, filling defaults; throws APF_INVALID_PARAMS saying what is wrong. */
export function checkWebhookConfig(config: unknown): Required<WebhookConfig> {
  if (!isRecord(config)) throw invalid('webhook_config must be an object');
  if (typeof config.url !== 'string' || config.url === '') throw invalid('webhook_config.url is required');
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    throw invalid('webhook_config.url is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalid(`webhook_config.url must be an http or https URL (got ${url.protocol})`);
  const method = config.method ?? 'POST';
  if (method !== 'POST' && method !== 'PUT') throw invalid('webhook_config.method must be POST or PUT');
  const headers = config.headers ?? {};
  if (!isRecord(headers) || !isStrings(headers)) throw invalid('webhook_config.headers must be an object of strings');
  const timeout = config.timeout ?? 30;
  if (typeof timeout !== 'number' || !(timeout > 0))
    throw invalid('webhook_config.timeout must be a positive number of seconds');
  const retries = config.max_retries ?? 3;
  if (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0)
    throw invalid('webhook_config.max_retries must be a whole number >= 0');
  return { url: config.url, headers, method, timeout, max_retries: retries };
}

function isStrings(record: Record<string, unknown>): record is Record<string, string> {
  return Object.values(record).every((v) => typeof v === 'string');
}
