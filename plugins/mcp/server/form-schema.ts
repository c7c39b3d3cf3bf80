import { isRecord } from 'apflow';

/** The form MCP elicitation may ask for: a flat object of primitive fields (the spec's restricted JSON Schema). */
export interface RequestedSchema {
  [key: string]: unknown;
  type: 'object';
  properties: Record<string, Record<string, unknown>>;
  required?: string[];
}

/** The form to show for a question, and how its filled-in content becomes the answer. */
export interface QuestionForm {
  requestedSchema: RequestedSchema;
  answerOf(content: Record<string, unknown>): unknown;
}

const ANNOTATIONS = ['title', 'description'] as const;
const BY_TYPE: Record<string, readonly string[]> = {
  boolean: ['default'],
  string: ['minLength', 'maxLength', 'format', 'default', 'enum', 'enumNames', 'oneOf'],
  number: ['minimum', 'maximum', 'default'],
  integer: ['minimum', 'maximum', 'default'],
  array: ['minItems', 'maxItems', 'items', 'default'],
};
const FORMATS = new Set(['email', 'uri', 'date', 'date-time']);
const strings = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');
const titledOptions = (value: unknown) =>
  Array.isArray(value) &&
  value.every((option) => isRecord(option) && typeof option.const === 'string' && typeof option.title === 'string');

/** Whether one property of a question's schema is a field MCP forms can show (string, number, boolean, enums). */
function fieldFits(field: Record<string, unknown>): boolean {
  const type = field.type;
  if (typeof type !== 'string' || !Object.hasOwn(BY_TYPE, type)) return false;
  if (type === 'string') {
    if (field.format !== undefined && !FORMATS.has(String(field.format))) return false;
    if (field.enum !== undefined && !strings(field.enum)) return false;
    if (field.oneOf !== undefined && !titledOptions(field.oneOf)) return false;
  }
  if (type === 'array') {
    // Only multi-select enums: an array of strings picked among options.
    const items = field.items;
    if (!isRecord(items)) return false;
    if (!(items.type === 'string' && strings(items.enum)) && !titledOptions(items.anyOf)) return false;
  }
  return true;
}

/** Whether a field's `default` is of the field's own type (a client refuses a form whose default is not). */
function defaultFits(field: Record<string, unknown>): boolean {
  const value = field.default;
  if (field.type === 'array') return strings(value);
  if (field.type === 'integer') return Number.isInteger(value);
  return typeof value === field.type;
}

/** The field as the form shows it: only the keywords MCP forms know (the server checks the whole schema anyway). */
function formField(field: Record<string, unknown>): Record<string, unknown> {
  const keep = [...ANNOTATIONS, ...(BY_TYPE[String(field.type)] ?? [])].filter(
    (key) => key in field && (key !== 'default' || defaultFits(field)),
  );
  return Object.fromEntries([['type', field.type], ...keep.map((key) => [key, field[key]])]);
}

/**
 * The question's schema as an MCP form when it fits the protocol's restricted form (an object of
 * string, number, integer, boolean and enum properties), else undefined.
 */
function exactForm(schema: Record<string, unknown> | undefined): RequestedSchema | undefined {
  if (!schema || schema.type !== 'object' || !isRecord(schema.properties)) return undefined;
  const fields = Object.entries(schema.properties);
  if (fields.length === 0) return undefined;
  if (!fields.every(([, field]) => isRecord(field) && fieldFits(field))) return undefined;
  const required = schema.required;
  if (required !== undefined && !strings(required)) return undefined;
  return {
    type: 'object',
    properties: Object.fromEntries(fields.map(([key, field]) => [key, formField(field as Record<string, unknown>)])),
    ...(required && required.length > 0 ? { required } : {}),
  };
}

/** Keeps the schema in a field's description short: a form is no place for a large document. */
const MAX_SCHEMA_TEXT = 2000;

/**
 * The form for a question: its own schema when it fits MCP's form, else one text field `answer`
 * whose text is the answer — parsed as JSON when it parses (`true`, `42`, `{"a": 1}`), kept as
 * text when it does not.
 */
export function questionForm(schema: Record<string, unknown> | undefined): QuestionForm {
  const exact = exactForm(schema);
  if (exact) return { requestedSchema: exact, answerOf: (content) => content };
  const text = schema ? JSON.stringify(schema) : '';
  const description = schema
    ? `The answer as JSON matching this JSON Schema: ${text.length > MAX_SCHEMA_TEXT ? `${text.slice(0, MAX_SCHEMA_TEXT)}…` : text}`
    : 'The answer: JSON, or plain text';
  return {
    requestedSchema: {
      type: 'object',
      properties: { answer: { type: 'string', title: 'Answer', description } },
      required: ['answer'],
    },
    answerOf(content) {
      const answer = content.answer;
      if (typeof answer !== 'string') return answer;
      try {
        return JSON.parse(answer) as unknown;
      } catch {
        return answer;
      }
    },
  };
}
