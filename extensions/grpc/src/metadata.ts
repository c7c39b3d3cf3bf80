import { ApflowError } from 'apflow';
import type { Metadata } from '@grpc/grpc-js';
import { ID } from './executor-id.ts';
import type { GrpcLibs } from './grpc-libs.ts';

/** Metadata as JSON: a value per key, or a list when the key repeats; `-bin` values in base64. */
export type MetadataJson = Record<string, string | string[]>;

/**
 * The call's metadata from the task's `metadata` input. Keys are lower-cased (gRPC's rule);
 * values of `-bin` keys are base64 (sent as bytes). A bad key fails the task without its value
 * in the message (values are secret inputs: tokens travel here).
 */
export function toMetadata(libs: GrpcLibs, input: Readonly<MetadataJson> | undefined): Metadata {
  const metadata = new libs.grpc.Metadata();
  for (const [rawKey, raw] of Object.entries(input ?? {})) {
    const key = rawKey.toLowerCase();
    for (const value of Array.isArray(raw) ? raw : [raw]) {
      try {
        metadata.add(key, key.endsWith('-bin') ? Buffer.from(value, 'base64') : value);
      } catch {
        // grpc-js's message quotes the value: not repeated here.
        throw new ApflowError('APF_INVALID_PARAMS', {
          message: `${ID}: metadata "${rawKey}" is refused: keys are letters, digits, "-", "_" and "."; values are printable ASCII (binary values go base64 under a key ending in -bin)`,
        });
      }
    }
  }
  return metadata;
}

/** Metadata received (headers or trailers) as JSON. */
export function metadataJson(metadata: Metadata | undefined): MetadataJson {
  const json: MetadataJson = {};
  for (const [key, values] of Object.entries(metadata?.toJSON() ?? {})) {
    const texts = values.map((value) => (typeof value === 'string' ? value : Buffer.from(value).toString('base64')));
    const [only] = texts;
    json[key] = texts.length === 1 && only !== undefined ? only : texts;
  }
  return json;
}
