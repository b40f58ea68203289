// Errors: every failure is a MnemoError with the API's stable `code`, the
// HTTP `status` the server would answer, and a message naming the field.

/** Base class of every error the package throws. */
export class MnemoError extends Error {
  /**
   * @param {string} message
   * @param {string} [code]
   * @param {number} [status]
   */
  constructor(message, code, status) {
    super(message);
    this.name = new.target.name;
    this.code = code ?? new.target.defaultCode;
    this.status = status ?? new.target.defaultStatus;
  }
}
MnemoError.defaultCode = "error";
MnemoError.defaultStatus = 500;

/** Bad input: a wrong type, a value out of range, a misfit body (400). */
export class InvalidInputError extends MnemoError {}
InvalidInputError.defaultCode = "invalid_request";
InvalidInputError.defaultStatus = 400;

/** No such memory, fact, conflict or pattern (404). */
export class NotFoundError extends MnemoError {}
NotFoundError.defaultCode = "not_found";
NotFoundError.defaultStatus = 404;

/** The call conflicts with what is stored (another embedder, a resolved conflict) (409). */
export class ConflictError extends MnemoError {}
ConflictError.defaultCode = "conflict";
ConflictError.defaultStatus = 409;

/** The database, a namespace or a watch was closed. */
export class ClosedError extends MnemoError {}
ClosedError.defaultCode = "closed";
ClosedError.defaultStatus = 503;

/** Another tab, worker or process has the database open. */
export class LockedError extends MnemoError {}
LockedError.defaultCode = "locked";
LockedError.defaultStatus = 423;

/** The storage failed (quota, I/O, a corrupt file). */
export class StorageError extends MnemoError {}
StorageError.defaultCode = "storage";
StorageError.defaultStatus = 500;

/** A bound was reached (too many watches). */
export class UnavailableError extends MnemoError {}
UnavailableError.defaultCode = "unavailable";
UnavailableError.defaultStatus = 503;

const BY_CODE = {
  invalid_request: InvalidInputError,
  invalid_json: InvalidInputError,
  payload_too_large: InvalidInputError,
  not_found: NotFoundError,
  conflict: ConflictError,
  closed: ClosedError,
  locked: LockedError,
  storage: StorageError,
  unavailable: UnavailableError,
};

/**
 * The error for a failure `{code, message, status}`.
 * @param {{code?: string, message?: string, status?: number}} failure
 * @returns {MnemoError}
 */
export function errorFrom(failure) {
  const code = failure?.code ?? "internal";
  const Class = BY_CODE[code] ?? MnemoError;
  return new Class(failure?.message ?? String(failure), code, failure?.status);
}

/**
 * A failure as a plain object that survives postMessage: what the engine
 * threw (JSON text), a MnemoError, or anything else (internal).
 * @param {unknown} e
 * @returns {{code: string, message: string, status: number}}
 */
export function failureOf(e) {
  if (e instanceof MnemoError) return { code: e.code, message: e.message, status: e.status };
  if (typeof e === "string") {
    try {
      const parsed = JSON.parse(e);
      if (parsed && typeof parsed.code === "string") return parsed;
    } catch {
      // not the engine's JSON: fall through
    }
    return { code: "internal", message: e, status: 500 };
  }
  if (e && typeof e === "object" && typeof e.code === "string" && typeof e.message === "string"
      && typeof e.status === "number") {
    return { code: e.code, message: e.message, status: e.status };
  }
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return { code: "internal", message, status: 500 };
}

/**
 * An InvalidInputError naming `field`.
 * @param {string} field
 * @param {string} reason
 */
export function invalid(field, reason) {
  return new InvalidInputError(`${field}: ${reason}`);
}
