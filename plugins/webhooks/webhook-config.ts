import { ApflowError } from 'apflow';

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
export function checkWebhookConfig(value: unknown): Required<WebhookConfig> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid('webhook_config must be an object');
  const config = value as Record<string, unknown>;
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
  if (
    typeof headers !== 'object' ||
    headers === null ||
    Array.isArray(headers) ||
    Object.values(headers).some((v) => typeof v !== 'string')
  ) {
    throw invalid('webhook_config.headers must be an object of strings');
  }
  const timeout = config.timeout ?? 30;
  if (typeof timeout !== 'number' || !(timeout > 0))
    throw invalid('webhook_config.timeout must be a positive number of seconds');
  const retries = config.max_retries ?? 3;
  if (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0)
    throw invalid('webhook_config.max_retries must be a whole number >= 0');
  return { url: config.url, headers: headers as Record<string, string>, method, timeout, max_retries: retries };
}
