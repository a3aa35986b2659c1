/**
 * CNI error results: the spec's well-known codes and the translation of ctnet's errors into them.
 * @module
 */
import { CtnetError, errorMessage, TeardownError } from '../errors.js';

/** Well-known error codes of the CNI specification (SPEC.md "Error"). */
export const CNI_ERR = {
  INCOMPATIBLE_VERSION: 1,
  UNSUPPORTED_FIELD: 2,
  UNKNOWN_CONTAINER: 3,
  INVALID_ENV: 4,
  IO_FAILURE: 5,
  DECODING_FAILURE: 6,
  INVALID_CONFIG: 7,
  TRY_AGAIN_LATER: 11,
  NOT_AVAILABLE: 50,
  NOT_AVAILABLE_LIMITED: 51,
  INTERNAL: 999,
} as const;

export type CniErrorCode = (typeof CNI_ERR)[keyof typeof CNI_ERR];

/** An error to report to the runtime as `{cniVersion, code, msg, details}`. */
export class CniError extends Error {
  readonly code: number;
  readonly details: string | undefined;
  constructor(code: number, msg: string, details?: string) {
    super(msg);
    this.name = 'CniError';
    this.code = code;
    this.details = details;
  }
}

/** The code a ctnet error maps to: bad input is 7, a lock or busy database 11, the rest 999. */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  const message = errorMessage(err);
  if (err instanceof CtnetError || err instanceof TeardownError) {
    switch ((err as CtnetError | TeardownError).code) {
      case 'CTNET_INVALID_CONFIG':
        return new CniError(CNI_ERR.INVALID_CONFIG, 'invalid network configuration', message);
      case 'CTNET_TIMEOUT':
        return new CniError(CNI_ERR.TRY_AGAIN_LATER, 'try again later', message);
      default:
        return new CniError(CNI_ERR.INTERNAL, shortMessage((err as CtnetError | TeardownError).code), message);
    }
  }
  return new CniError(CNI_ERR.INTERNAL, 'internal error', message);
}

function shortMessage(code: string): string {
  return code.replace(/^CTNET_/, '').toLowerCase().replaceAll('_', ' ');
}
