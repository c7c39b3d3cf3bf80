import { ApflowError, isRecord } from 'apflow';
import type { Enum, Field, Type } from 'protobufjs';
import { ID } from './executor-id.ts';

/** The integer range of each integer type (protobufjs would wrap or truncate a value outside it). */
const INTEGER_RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
/** A value quoted in a message, cut short (a wrong value may be a whole object). */
const shown = (value: unknown) => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
};

/**
 * Checks a request against its message type before it is sent: protobufjs's `fromObject` drops
 * unknown keys and coerces wrong values (`"abc"` → 0, `1e20` wrapped), so a typo would send an
 * empty request silently. Every key must name a field (proto names), recursively; values must fit
 * the field's type (64-bit integers as numbers or decimal strings, enums by name or number, bytes
 * in base64). Fails APF_INVALID_PARAMS naming the field.
 */
export function checkRequest(type: Type, request: Record<string, unknown>, label: string): void {
  const problem = messageProblem(type, request, 'request');
  if (problem) {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `${ID}: the request does not fit ${label}'s request message ${type.name}: ${problem}`,
    });
  }
}

function messageProblem(type: Type, value: unknown, path: string): string | undefined {
  if (!isRecord(value) || Array.isArray(value)) return `${path} must be an object (message ${type.name})`;
  for (const [key, entry] of Object.entries(value)) {
    const field = type.fields[key];
    const at = `${path}.${key}`;
    if (!field) {
      return `${at} is not a field of ${type.name} (fields: ${Object.keys(type.fields).join(', ') || 'none'})`;
    }
    if (entry === null || entry === undefined) continue;
    const problem = fieldProblem(field.resolve(), entry, at);
    if (problem) return problem;
  }
  return undefined;
}

function fieldProblem(field: Field, value: unknown, path: string): string | undefined {
  if (field.map) {
    if (!isRecord(value) || Array.isArray(value)) return `${path} must be an object (a map)`;
    const keyType = 'keyType' in field && typeof field.keyType === 'string' ? field.keyType : 'string';
    for (const [key, entry] of Object.entries(value)) {
      if (keyType in INTEGER_RANGES && integerProblem(keyType, key, path)) {
        return `${path} has a key ${shown(key)} that is not a ${keyType}`;
      }
      const problem = valueProblem(field, entry, `${path}["${key}"]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (field.repeated) {
    if (!Array.isArray(value)) return `${path} must be a list`;
    for (const [index, entry] of value.entries()) {
      const problem = valueProblem(field, entry, `${path}[${index}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  return valueProblem(field, value, path);
}

function valueProblem(field: Field, value: unknown, path: string): string | undefined {
  const resolved = field.resolvedType;
  if (resolved && 'fields' in resolved) return messageProblem(resolved, value, path);
  if (resolved) return enumProblem(resolved, value, path);
  const type = field.type;
  if (type in INTEGER_RANGES) return integerProblem(type, value, path);
  switch (type) {
    case 'double':
    case 'float':
      return typeof value === 'number' || value === 'NaN' || value === 'Infinity' || value === '-Infinity'
        ? undefined
        : `${path} must be a number (${type})`;
    case 'bool':
      return typeof value === 'boolean' ? undefined : `${path} must be true or false`;
    case 'string':
      return typeof value === 'string' ? undefined : `${path} must be a string`;
    case 'bytes':
      return typeof value === 'string' && BASE64.test(value) ? undefined : `${path} must be base64 text (bytes)`;
    default:
      return `${path} has a type this executor cannot check (${type})`;
  }
}

function integerProblem(type: string, value: unknown, path: string): string | undefined {
  const [min, max] = INTEGER_RANGES[type] as readonly [bigint, bigint];
  const big =
    typeof value === 'number' && Number.isSafeInteger(value)
      ? BigInt(value)
      : typeof value === 'string' && /^-?\d{1,20}$/.test(value)
        ? BigInt(value)
        : undefined;
  if (big === undefined || big < min || big > max) {
    const how = type.endsWith('64') ? 'an integer (a decimal string beyond 2^53)' : 'an integer';
    return `${path} must be ${how} from ${min} to ${max} (${type}), got ${shown(value)}`;
  }
  return undefined;
}

function enumProblem(type: Enum, value: unknown, path: string): string | undefined {
  if (typeof value === 'string' && value in type.values) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && Object.values(type.values).includes(value))
    return undefined;
  return `${path} must be one of ${Object.keys(type.values).join(', ')} (enum ${type.name}), got ${shown(value)}`;
}
