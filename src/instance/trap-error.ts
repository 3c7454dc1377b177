import { Code } from "../abi.js";
import { BusError, GuestExit } from "../errors.js";

// Apart from ./guest.ts, which only decides when an instance breaks: this is what its callers are told.

/** What a throw out of guest code becomes: a GuestExit's or a BusError's own error, else GuestTrapped with the guest's last words. */
export function trapError(module: string, during: string, err: unknown, lastWords?: string): BusError {
  if (err instanceof GuestExit) return err.error;
  if (err instanceof BusError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new BusError(Code.GuestTrapped, `module ${module} trapped during ${during}: ${message}${lastWords ? `: ${lastWords}` : ""}`, lastWords);
}
