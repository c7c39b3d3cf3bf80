import { errorCatalogue, type ErrorCode } from './error-catalogue.ts';

// A brand rather than `instanceof`: a reloaded plugin may hold another copy of this module.
const BRAND = Symbol.for('apflow.error');

/** Options for {@link ApflowError}. */
export interface ApflowErrorOptions {
  /** What went wrong, for people; defaults to the catalogue's message. */
  message?: string;
  /** Extra detail safe to put on the wire (never secrets, never stacks). */
  data?: unknown;
  /** The underlying error, kept for logs only. */
  cause?: unknown;
}

/**
 * The one error class of apflow. Carries a catalogue code; the HTTP and JSON-RPC shapes are
 * derived from it in one place (`http/error-mapping.ts`).
 *
 * @example
 * throw new ApflowError('APF_NOT_FOUND', { message: `Task ${id} not found` });
 */
export class ApflowError extends Error {
  readonly code: ErrorCode;
  readonly data: unknown;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, options: ApflowErrorOptions = {}) {
    super(options.message ?? errorCatalogue[code].message, { cause: options.cause });
    this.name = 'ApflowError';
    this.code = code;
    this.data = options.data;
  }

  /** JSON form used in logs and tests. */
  toJSON(): { code: ErrorCode; message: string; data?: unknown } {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

/** True for an {@link ApflowError}, from this copy of the kernel or another one. */
export function isApflowError(value: unknown): value is ApflowError {
  return typeof value === 'object' && value !== null && (value as { [BRAND]?: boolean })[BRAND] === true;
}

/** Returns `value` when it is an {@link ApflowError}, else wraps it as `APF_INTERNAL`. */
export function toApflowError(value: unknown): ApflowError {
  if (isApflowError(value)) return value;
  return new ApflowError('APF_INTERNAL', { cause: value });
}
