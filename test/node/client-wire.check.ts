// Compile-time checks that the client's descriptions of the wire (sdk/client, a package of its own
// that cannot import the runtime) say what the runtime answers: a field added, renamed or retyped
// on one side only fails the root `npm run typecheck` (tsconfig.json includes test/). Nothing here runs.
import type { ErrorBody, KeptLine as ClientKeptLine, LogLine as ClientLogLine, ProcessInfo as ClientProcessInfo, SpawnOptions } from "../../sdk/client/src/index.js";
import type { errorBody } from "../../src/http/errors.js";
import type { KeptLine, LogLine } from "../../src/log.js";
import type { ProcessInfo, SpawnRequest } from "../../src/process.js";

/**
 * The same type, field for field, optional ones included (mutual assignability would let an
 * optional field on one side only pass): TypeScript's identity check, reached through generics.
 */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Every value of A is a B, and both name the same fields. */
type Fits<A, B> = [A] extends [B] ? Same<keyof A, keyof B> : false;

type ServerErrorBody = ReturnType<typeof errorBody>;

export const wire = {
  processInfo: true satisfies Same<ClientProcessInfo, ProcessInfo>,
  logLine: true satisfies Same<ClientLogLine, LogLine>,
  keptLine: true satisfies Same<ClientKeptLine, KeptLine>,
  // The client's stdin is a string (JSON carries no bytes); the runtime also takes bytes from within.
  spawn: true satisfies Fits<SpawnOptions & { module: string }, SpawnRequest>,
  errorBody: true satisfies Fits<ServerErrorBody, ErrorBody>,
};
