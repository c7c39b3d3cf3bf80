import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { TestContext } from 'node:test';
import { listenLocal } from '../helpers.ts';

/** One request a fake LLM server got. */
export interface LlmRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** Set once the client went away before the answer was sent (an aborted call). */
  abandoned: boolean;
}

/** A canned answer: a status and a JSON body, or `'hold'` to never answer. */
export type LlmAnswer = { status?: number; body: unknown } | 'hold';

/**
 * A local HTTP server that records every request and answers with `answer(request, n)`
 * (n: requests before this one). Its `baseUrl` ends in `/v1`, as the providers' do.
 */
export async function fakeLlmServer(t: TestContext, answer: (request: LlmRequest, n: number) => LlmAnswer) {
  const requests: LlmRequest[] = [];
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => {
      const request: LlmRequest = {
        path: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(data || '{}') as Record<string, unknown>,
        abandoned: false,
      };
      const reply = answer(request, requests.length);
      requests.push(request);
      if (reply === 'hold') {
        held.push(res);
        res.on('close', () => (request.abandoned = !res.writableEnded));
        return;
      }
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.body));
    });
  });
  const port = await listenLocal(t, server);
  return { baseUrl: `http://127.0.0.1:${port}/v1`, requests };
}

/** An OpenAI chat completion answering `content`. */
export function openaiText(content: string, usage = { prompt_tokens: 10, completion_tokens: 5 }) {
  return {
    body: {
      id: 'chatcmpl-test',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
    },
  };
}

/** An OpenAI chat completion calling the tool `name` with `args`. */
export function openaiToolCall(name: string, args: unknown) {
  return {
    body: {
      id: 'chatcmpl-tool',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'gpt-4o-mini',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'call_1', type: 'function', function: { name, arguments: JSON.stringify(args) } }],
          },
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 20, completion_tokens: 8, total_tokens: 28 },
    },
  };
}

/** An Anthropic message answering `text`. */
export function anthropicText(text: string, usage = { input_tokens: 7, output_tokens: 3 }) {
  return {
    body: {
      id: 'msg_test',
      type: 'message',
      role: 'assistant',
      model: 'claude-3-5-haiku-latest',
      content: [{ type: 'text', text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage,
    },
  };
}

/** The text of every message of an OpenAI or Anthropic request body, joined. */
export function promptText(body: Record<string, unknown>): string {
  return JSON.stringify([body.system ?? null, body.messages ?? null]);
}
