import { ApflowError } from 'apflow';
import { ID } from './executor-id.ts';

/**
 * protobufjs takes time quadratic in the declarations of one message (5,000 fields: over a
 * second, blocking the event loop), so a schema is counted before it is built.
 */
export const MAX_DECLARATIONS_PER_BLOCK = 1000;
export const MAX_DECLARATIONS = 20_000;

// Comments and string literals first (they may hold braces), then braces, declaration keywords and `= <number>`.
const TOKENS =
  /\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|[{}]|=\s*-?\d|\b(?:message|enum|service|rpc|oneof|extend|group)\b/g;

/**
 * Counts the declarations of `.proto` text (fields and enum values: `= <number>`; messages, enums,
 * services, methods, oneofs) in each `{…}` block and in all, and refuses the text over the caps.
 */
export function checkProtoText(text: string, what: string): void {
  const blocks: number[] = [0];
  let total = 0;
  for (const [token] of text.matchAll(TOKENS)) {
    const first = token[0];
    if (first === '/' || first === '"' || first === "'") continue;
    if (token === '{') blocks.push(0);
    else if (token === '}') {
      if (blocks.length > 1) blocks.pop();
    } else {
      total += 1;
      const inBlock = (blocks[blocks.length - 1] ?? 0) + 1;
      blocks[blocks.length - 1] = inBlock;
      if (inBlock > MAX_DECLARATIONS_PER_BLOCK || total > MAX_DECLARATIONS) throw tooMany(what);
    }
  }
}

/** The parts of a DescriptorProto (decoded by protobufjs's descriptor extension) that are counted. */
export interface CountedMessage {
  field?: unknown[];
  extension?: unknown[];
  oneofDecl?: unknown[];
  nestedType?: CountedMessage[];
  enumType?: { value?: unknown[] }[];
}

/** The parts of a FileDescriptorProto that are counted. */
export interface CountedFile {
  messageType?: CountedMessage[];
  enumType?: { value?: unknown[] }[];
  extension?: unknown[];
  service?: { method?: unknown[] }[];
}

/** The same caps on decoded FileDescriptorProtos (from reflection), counted before they are built. */
export function checkDescriptors(files: readonly CountedFile[], what: string): void {
  let total = 0;
  const count = (entries: readonly unknown[] | undefined) => {
    const length = entries?.length ?? 0;
    total += length;
    if (length > MAX_DECLARATIONS_PER_BLOCK || total > MAX_DECLARATIONS) throw tooMany(what);
  };
  const scope = (block: CountedMessage & CountedFile) => {
    for (const list of [block.field, block.extension, block.oneofDecl, block.nestedType, block.messageType])
      count(list);
    count(block.enumType);
    count(block.service);
    for (const enumType of block.enumType ?? []) count(enumType.value);
    for (const service of block.service ?? []) count(service.method);
    for (const nested of [...(block.nestedType ?? []), ...(block.messageType ?? [])]) scope(nested);
  };
  for (const file of files) scope(file);
}

function tooMany(what: string): ApflowError {
  return new ApflowError('APF_INVALID_PARAMS', {
    message: `${ID}: ${what} declares too much: at most ${MAX_DECLARATIONS_PER_BLOCK} fields or declarations in one message, enum or service, and ${MAX_DECLARATIONS} in all`,
  });
}
