/**
 * Error types shared by every module: a CodedError carries a `code` enum and a typed payload,
 * as Lodestar's `InvalidAttestationErrorCode` errors do, so callers switch on the code.
 */

/** A domain failure with a machine-readable `code` and a typed payload `type`. */
export class CodedError<T extends { code: string }> extends Error {
  readonly type: T;
  constructor(type: T, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.type = type;
    this.name = new.target.name;
  }
  get code(): T["code"] {
    return this.type.code;
  }
}

/** Bad user input (flag, file, definition): the CLI exits 2 and prints the message. */
export type InputErrorType = { code: "INVALID_INPUT"; field: string };

/** Bad user input, naming the offending field. The CLI maps it to exit code 2. */
export class InputError extends CodedError<InputErrorType> {
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super({ code: "INVALID_INPUT", field }, message, options);
  }
}

/** Returns the message of an unknown thrown value, for one-line CLI output. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
