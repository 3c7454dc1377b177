import type { BusCall } from "../../call.js";
import { BusError } from "../../errors.js";

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
 * A sub-process's place in both counts, the isolate's and its tree's, for the spawn `call`:
 * taken in both or refused (LimitExceeded), and given back to both at once by the function it
 * answers, which gives back only the first time it is called, so the two cannot drift apart.
 */
export function takeSlot(call: BusCall): () => void {
  if (live >= MAX_SUBPROCESSES) throw BusError.of("LimitExceeded", `process.spawn: ${MAX_SUBPROCESSES} sub-processes are running in this isolate already`);
  const tree = treeOf(call);
  if (tree.live >= MAX_TREE_SUBPROCESSES) {
    throw BusError.of(
      "LimitExceeded",
      `process.spawn: ${MAX_TREE_SUBPROCESSES} sub-processes of this tree (what one process or call spawned, and their children) are running already, a tree's bound (MAX_TREE_SUBPROCESSES), so that one cannot take the isolate's ${MAX_SUBPROCESSES}`,
    );
  }
  live++;
  tree.live++;
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    live--;
    tree.live--;
  };
}
