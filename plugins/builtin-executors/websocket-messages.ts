import { isDeepStrictEqual } from 'node:util';
import { isRecord, Type, type Static } from 'apflow';

/**
 * When to stop collecting: a substring of a text message, `{count}` messages, or a message whose
 * JSON `field` (a dotted path) is present, or equals `value` when given.
 */
export const UntilRule = Type.Union([
  Type.String({ minLength: 1, description: 'stop at the first text message containing this' }),
  Type.Object(
    { count: Type.Integer({ minimum: 1, description: 'stop after this many messages' }) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      field: Type.String({
        minLength: 1,
        description: 'a dotted path into the JSON message, e.g. "status" or "data.done"',
      }),
      value: Type.Optional(Type.Unknown({ description: 'the value it must equal; without it, the field must exist' })),
    },
    { additionalProperties: false },
  ),
]);

/** A stop rule as the task gives it. */
export type UntilRule = Static<typeof UntilRule>;

/** One received message: its text (null for binary frames) and its value as returned. */
export interface Received {
  text: string | null;
  value: unknown;
}

/** A received frame as the result shows it: JSON parsed when it is JSON, binary as base64. */
export function decodeMessage(data: Buffer, isBinary: boolean): Received {
  if (isBinary) return { text: null, value: { binary: data.toString('base64') } };
  const text = data.toString('utf8');
  return { text, value: parseJson(text) };
}

/** `text` parsed when it is JSON, otherwise the text itself. */
export function parseJson(text: string): unknown {
  const trimmed = text.trim();
  if (!trimmed || !'{["-0123456789tfn'.includes(trimmed[0] as string)) return text;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return text;
  }
}

/** Whether `message`, the `count`th received, ends the collection under `rule`. */
export function matchesUntil(rule: UntilRule, message: Received, count: number): boolean {
  if (typeof rule === 'string') return message.text !== null && message.text.includes(rule);
  if ('count' in rule) return count >= rule.count;
  const found = readPath(message.value, rule.field);
  if (!found.present) return false;
  return !Object.hasOwn(rule, 'value') || isDeepStrictEqual(found.value, rule.value);
}

function readPath(value: unknown, path: string): { present: boolean; value?: unknown } {
  let current = value;
  for (const key of path.split('.')) {
    if (Array.isArray(current) && /^\d+$/.test(key) && Number(key) < current.length) current = current[Number(key)];
    else if (isRecord(current) && Object.hasOwn(current, key)) current = current[key];
    else return { present: false };
  }
  return { present: true, value: current };
}

/** What a task sends: `message` then `messages`, strings as given and other values as JSON. */
export function outgoingMessages(message: unknown, messages: readonly unknown[] | undefined): string[] {
  const all = message === undefined ? [...(messages ?? [])] : [message, ...(messages ?? [])];
  return all.map((entry) => (typeof entry === 'string' ? entry : JSON.stringify(entry)));
}
