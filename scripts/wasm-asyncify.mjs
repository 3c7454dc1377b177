// Binaryen's asyncify for modules that may block in an import, so a guest that waits (Rust's
// `block_on` in `poll`, a WASI sleep, stdin) keeps its suspended stack in its own linear memory
// instead of on the engine's native stack: no JSPI is needed, and a snapshot can hold it.
// src/instance/asyncify.ts drives it at run time; docs/abi.md ("Blocking guests") says what it
// costs. The build runs it on every module after metering (scripts/build-modules.mjs).
//
// A module is blocking when it imports `wasm-bus.poll`, `poll_oneoff` or `fd_read` (the same test
// as src/registry.ts). Only the imports that may suspend are named to asyncify, so code that cannot
// reach one is left alone; `fd_write` is among them (it waits under output backpressure) only in a
// blocking module: one that merely writes never waits. Indirect calls stay instrumented: Rust
// reaches `main` and every `println!` through them.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { signatures } from "./wasm-signatures.mjs";

const WASI = "wasi_snapshot_preview1";
/** The imports whose waits suspend the guest (src/instance/bus-imports.ts, src/wasi.ts). */
export const SUSPENDING = ["wasm-bus.poll", `${WASI}.poll_oneoff`, `${WASI}.fd_read`, `${WASI}.fd_write`];
/** Importing one of these makes a module blocking (src/registry.ts). */
const BLOCKING = (key) => key === "wasm-bus.poll" || key.endsWith(".poll_oneoff") || key.endsWith(".fd_read");

/**
 * Asyncifies the module in `file` in place when it is blocking, with `wasmOpt` (binaryen's
 * wasm-opt) and -O after (asyncify's instrumentation shrinks by a third under it). Returns the
 * imports it made suspending, or [] for a module left as it was.
 */
export function asyncify(file, wasmOpt) {
  const imported = Object.keys(signatures(readFileSync(file)).imports);
  if (!imported.some(BLOCKING)) return [];
  const suspending = SUSPENDING.filter((key) => imported.includes(key));
  execFileSync(wasmOpt, [file, "--asyncify", `--pass-arg=asyncify-imports@${suspending.join(",")}`, "-O", "--all-features", "-o", file], { stdio: "inherit" });
  return suspending;
}
