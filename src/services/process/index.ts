import type { BusCall } from "../../call.js";
import type { Schema } from "../../codec/schema.js";
import { BusError } from "../../errors.js";
import { Process } from "../../process.js";
import { builtin } from "../service.js";
import { ChildOutput } from "./child-output.js";

function processOf(parent: unknown): Process {
  if (!(parent instanceof Process)) throw BusError.of("InvalidHandle", "the parent call is not a process.spawn");
  return parent;
}

let spawned = 0;
/**
 * At most this many sub-processes live at once in an isolate (the process objects and the
 * Worker's calls share it, as they share its memory). The call depth bounds a chain of spawns;
 * this bounds a tree, where each process spawns several (two each, 16 deep, is 131,071).
 */
export const MAX_SUBPROCESSES = 256;
let live = 0;
/** How many sub-processes are running in this isolate now (tests hold the count to account). */
export const liveSubprocesses = () => live;

/**
 * At most this many sub-processes live at once in one tree: what one root spawned (a process, or
 * a call a module spawns while serving), their children, and so on. Process objects share an
 * isolate, and with it MAX_SUBPROCESSES: without a bound of its own, one process's tree could
 * take all of it and leave every other process in the isolate unable to spawn. A quarter of the
 * isolate's, so it takes four trees at their bound to fill it; still more than a pipeline or a
 * build's parallel jobs need.
 */
export const MAX_TREE_SUBPROCESSES = 64;

/** Each tree's live sub-processes, by its root (see rootOf). Weak: a tree goes with its root. */
const trees = new WeakMap<object, { live: number }>();

/**
 * The root of a spawn's tree. A process's spawns are its root process's: a sub-process's go to
 * its spawner's tree, whichever calls it serves. Any other instance's (a pooled or shared
 * module's) are the tree of the call they were made for: one a process made is that process's,
 * so fanning out through a module gets it no fresh budget. What is made for no call is its
 * instance's own tree, and a call from outside (HTTP, a session's client) is a root itself.
 */
function rootOf(call: BusCall): object {
  for (let c = call; ; ) {
    const from = c.from;
    const next = from?.command ? from.command.origin : c.origin;
    if (!next) return from ?? c;
    c = next;
  }
}

function treeOf(call: BusCall): { live: number } {
  const root = rootOf(call);
  let tree = trees.get(root);
  if (!tree) trees.set(root, (tree = { live: 0 }));
  return tree;
}

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
      if (live >= MAX_SUBPROCESSES) throw BusError.of("LimitExceeded", `process.spawn: ${MAX_SUBPROCESSES} sub-processes are running in this isolate already`);
      const tree = treeOf(call);
      if (tree.live >= MAX_TREE_SUBPROCESSES) {
        throw BusError.of(
          "LimitExceeded",
          `process.spawn: ${MAX_TREE_SUBPROCESSES} sub-processes of this tree (what one process or call spawned, and their children) are running already, a tree's bound (MAX_TREE_SUBPROCESSES), so that one cannot take the isolate's ${MAX_SUBPROCESSES}`,
        );
      }
      // A process's child is named after it (`<id>.<n>`); a plain call's after its module and this isolate's count.
      const id = call.from?.childId() ?? `${call.caller}.${++spawned}`;
      const output = new ChildOutput(call);
      const process = new Process(id, request, {
        output: (stream, line) => output.line(stream, line),
        outputReady: () => output.ready(),
        outputBlocked: () => output.blocked,
        end: (info, error) => {
          live--;
          tree.live--;
          output.end(info.code ?? -1, error);
        },
      }, call);
      // Counted before it starts: its _start runs inside start, and may spawn in turn.
      live++;
      tree.live++;
      try {
        process.start(ctx.spawn, req.env ?? {});
      } catch (err) {
        live--; // it never started, so it never ends
        tree.live--;
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
