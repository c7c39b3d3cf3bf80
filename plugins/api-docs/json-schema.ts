import { isRecord } from 'apflow';
/** Keywords whose value is a map of name → schema. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
/** Keywords whose value is a list of schemas. */
const SCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
/** Keywords whose value is one schema (or a boolean). */
const SCHEMA_ONE = new Set([
  'not',
  'if',
  'then',
  'else',
  'items',
  'additionalItems',
  'additionalProperties',
  'contains',
  'propertyNames',
  'unevaluatedItems',
  'unevaluatedProperties',
]);
const MAX_DEPTH = 64;

/**
 * A TypeBox schema as plain JSON Schema for an OpenAPI 3.1 document: only enumerable string keys
 * (TypeBox's `~kind`, `~optional` and symbols go), no `$id` / `$schema` (they would re-base the
 * document's references), and a reference outside the document (`$ref: 'Task'`) becomes an open
 * schema that names it. Values of `default`, `const`, `enum`, `examples` are copied as data.
 */
export function toJsonSchema(schema: unknown, depth = 0): unknown {
  if (typeof schema === 'boolean') return schema;
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema) || depth > MAX_DEPTH) return {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('~') || key === '$id' || key === '$schema') continue;
    if (key === '$ref') {
      if (typeof value === 'string' && value.startsWith('#')) out.$ref = value;
      else out.description = `schema ${String(value)}`;
    } else if (SCHEMA_MAPS.has(key) && isRecord(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, toJsonSchema(sub, depth + 1)]));
    } else if (SCHEMA_LISTS.has(key) && Array.isArray(value)) {
      out[key] = value.map((sub) => toJsonSchema(sub, depth + 1));
    } else if (SCHEMA_ONE.has(key)) {
      out[key] = Array.isArray(value)
        ? value.map((sub) => toJsonSchema(sub, depth + 1))
        : toJsonSchema(value, depth + 1);
    } else {
      out[key] = toData(value);
    }
  }
  return out;
}

/** A JSON copy of a keyword's value (functions, symbols and undefined dropped, as JSON does). */
function toData(value: unknown): unknown {
  if (value === undefined) return undefined;
  const copy: unknown = JSON.parse(JSON.stringify(value) ?? 'null');
  return copy;
}
