import { BusError, GuestExit } from "../errors.js";
import type { InstanceContext } from "./context.js";

/** Imports outside `wasm-bus` that compilers expect: AssemblyScript's `env` and wasi-threads. */
export function envImports(cx: InstanceContext): WebAssembly.Imports {
  return {
    env: {
      // AssemblyScript's abort(message, file, line, column).
      abort: (msg: number, file: number, line: number, col: number) => {
        throw GuestExit.halt(BusError.of("GuestTrapped", `module ${cx.module.name} aborted: ${asString(cx, msg)} at ${asString(cx, file)}:${line}:${col}`));
      },
      seed: () => Date.now() * Math.random(),
    },
    // Workers have no threads and a sibling instance cannot share this one's memory, so
    // thread-spawn always fails (a negative result), with a log line that says why.
    wasi: {
      "thread-spawn": () => {
        cx.refuse("Unsupported", "thread-spawn: Workers have no threads; use a sub-process (process.spawn) or a call to another module");
        return -1;
      },
    },
  };
}

/** An AssemblyScript string: UTF-16, its byte length in the four bytes before it. */
function asString(cx: InstanceContext, ptr: number): string {
  try {
    const len = new DataView(cx.exports.memory.buffer).getUint32(ptr - 4, true);
    return new TextDecoder("utf-16le").decode(cx.memory.peek(ptr, len));
  } catch {
    return "?";
  }
}
