import type { Schema } from "../../codec/schema.js";
import { BusError } from "../../errors.js";
import { Process } from "../../process.js";
import { builtin } from "../service.js";
import { ChildOutput } from "./child-output.js";
import { takeSlot } from "./slots.js";

function processOf(parent: unknown): Process {
  if (!(parent instanceof Process)) throw BusError.of("InvalidHandle", "the parent call is not a process.spawn");
  return parent;
}

let spawned = 0;

/**
 * Sub-processes: a module spawns another module (command-style) in its own
 * isolate and hears its stdout, stderr and exit as callbacks. The spawn call
 * is the process: keep it alive, call the process.* topics on it, drop it to
 * kill the child.
 */
export const processService = builtin({
  "process.spawn": {
    description:
      "Spawns module as a sub-process with args, env and stdin; stdout, stderr (bytes, one line each) and exit (the code) are callbacks. A module that cannot start (InvalidWapm, IncorrectAbi) or a request it cannot take (BadRequest) fails the call; a child that fails (GuestTrapped, Timeout when out of fuel) calls exit with -1, then fails the kept-alive call with that code.",
    request: { struct: { module: "string", args: { seq: "string" }, env: { map: ["string", "string"] }, stdin: { option: "bytes" } } },
    response: "unit",
    callbacks: { stdout: "bytes", stderr: "bytes", exit: "i32" } satisfies Record<string, Schema>,
    run(req: { module: string; args?: string[]; env?: Record<string, string>; stdin?: Uint8Array | null }, call, ctx) {
      // The spawner writes more stdin and closes it itself (process.write_stdin, process.close_stdin).
      const request = { module: req.module, args: req.args ?? [], env: req.env ?? {}, stdin: req.stdin ?? undefined, stdinOpen: true };
      // Counted before it starts: its _start runs inside start, and may spawn in turn.
      const giveBack = takeSlot(call);
      let process: Process;
      try {
        // A process's child is named after it (`<id>.<n>`); a plain call's after its module and this isolate's count.
        const id = call.from?.childId() ?? `${call.caller}.${++spawned}`;
        const output = new ChildOutput(call);
        process = new Process(id, request, {
          output: (stream, line) => output.line(stream, line),
          outputReady: () => output.ready(),
          outputBlocked: () => output.blocked,
          end: (info, error) => {
            giveBack();
            output.end(info.code ?? -1, error);
          },
        }, call);
        process.start(ctx.spawn, req.env ?? {});
      } catch (err) {
        giveBack(); // it never started, so it never ends
        throw err;
      }
      call.server = process;
      if (call.signal.aborted) process.kill();
      else call.signal.addEventListener("abort", () => process.kill());
      return null;
    },
  },
  "process.write_stdin": {
    description: "Writes bytes to the stdin of the process its parent call spawned; false once stdin is closed, LimitExceeded past the child's limits.stdinBytes unread.",
    request: { struct: { data: "bytes" } },
    response: "bool",
    run: (req: { data: Uint8Array }, call) => processOf(call.parent?.server).stdin.write(req.data),
  },
  "process.close_stdin": {
    description: "Closes the stdin of the process its parent call spawned.",
    request: { struct: {} },
    response: "unit",
    run: (_req, call) => (processOf(call.parent?.server).stdin.close(), null),
  },
  "process.kill": {
    description: "Kills the process its parent call spawned; exit reports 137.",
    request: { struct: {} },
    response: "unit",
    run: (_req, call) => (processOf(call.parent?.server).kill(), null),
  },
});
