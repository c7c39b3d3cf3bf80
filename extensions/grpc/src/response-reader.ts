import { ApflowError } from 'apflow';
import type { IConversionOptions, Type } from 'protobufjs';
import { errorText } from './error-text.ts';
import { ID } from './executor-id.ts';

/** The default and the hard cap of `max_bytes`: what a call may bring back. */
export const MAX_BYTES_DEFAULT = 4 * 1024 * 1024;
export const MAX_BYTES_CAP = 64 * 1024 * 1024;

/**
 * How messages become JSON: proto field names, 64-bit integers and enums as strings, bytes as
 * base64, the set oneof named. Fields at their default value are left out (proto3 JSON): with
 * defaults filled in, a few bytes of empty messages with many fields would become megabytes.
 */
const JSON_OPTIONS: IConversionOptions = { longs: String, enums: String, bytes: String, oneofs: true, json: true };

/** Reads the messages of one call within `maxBytes`, counted on the wire and again as JSON. */
export interface ResponseReader {
  /** The message as JSON, or undefined once keeping it would pass `max_bytes` (it is not kept). */
  read(wire: Buffer): unknown;
  /** The error of a unary response over `max_bytes`. */
  tooLarge(): ApflowError;
}

/** A reader of `type` messages that keeps at most `maxBytes` of wire bytes and `maxBytes` of JSON. */
export function responseReader(type: Type, maxBytes: number, label: string): ResponseReader {
  let wireBytes = 0;
  let jsonChars = 0;
  return {
    read(wire) {
      wireBytes += wire.length;
      if (wireBytes > maxBytes) return undefined;
      let message: unknown;
      try {
        message = type.toObject(type.decode(wire), JSON_OPTIONS);
      } catch (error) {
        throw new ApflowError('APF_INTERNAL', {
          message: `${ID}: ${label}: a response message does not decode as ${type.name}: ${errorText(error)}`,
        });
      }
      jsonChars += JSON.stringify(message).length;
      return jsonChars > maxBytes ? undefined : message;
    },
    tooLarge: () => tooLargeError(label, maxBytes),
  };
}

/** A response over `max_bytes` (counted here, or refused by grpc-js as it arrived): not retried. */
export function tooLargeError(label: string, maxBytes: number): ApflowError {
  return new ApflowError('APF_INVALID_PARAMS', {
    message: `${ID}: ${label}: the response is larger than max_bytes (${maxBytes} bytes); raise max_bytes (at most ${MAX_BYTES_CAP}) or ask for less`,
  });
}

/** Whether a status is grpc-js refusing a message over `grpc.max_receive_message_length` on this side. */
export function isLocalTooLarge(status: { code: number; details: string }): boolean {
  return status.code === 8 && /^Received message larger than max/.test(status.details);
}
