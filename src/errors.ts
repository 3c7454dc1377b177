import { Code, type CodeName, codeName } from "./abi.js";

/**
 * The one error type the runtime raises. `code` is the ABI code a guest sees;
 * `status` is what the HTTP edge answers. Whose fault it is follows from the code.
 */
export class BusError extends Error {
  override readonly name = "BusError";
  constructor(
    readonly code: number,
    message: string,
    readonly status: number = statusFor(code),
    /** The module's own words for why it failed (`fault_message`, a Rust panic), apart from the host's. */
    readonly detail?: string,
  ) {
    super(message);
  }

  get codeName(): CodeName {
    return codeName(this.code);
  }

  static of(name: CodeName, message: string, status?: number): BusError {
    return new BusError(Code[name], message, status);
  }

  /** Anything thrown becomes a BusError; unknown throwables are the system's fault. */
  static from(err: unknown): BusError {
    if (err instanceof BusError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new BusError(Code.InternalFailure, message);
  }
}

/** HTTP status for an ABI code: 4xx where the caller or the guest input is at fault. */
function statusFor(code: number): number {
  switch (code) {
    case Code.InvalidWapm:
    case Code.InvalidTopic:
    case Code.NotFound:
      return 404;
    case Code.MethodNotAllowed:
      return 405;
    case Code.Unauthorized:
      return 401;
    case Code.DeserializationFailed:
    case Code.BadRequest:
    case Code.InvalidUtf8:
      return 400;
    case Code.AccessDenied:
      return 403;
    case Code.LimitExceeded:
      return 413;
    case Code.Unsupported:
      return 501;
    case Code.Timeout:
      return 504;
    case Code.FetchFailed:
      return 502;
    case Code.CallCycle:
      return 508;
    default:
      return 500;
  }
}

/** Thrown out of the fuel meter (src/fuel.wat): the guest that was running ran out. */
export class FuelExhausted extends Error {}
