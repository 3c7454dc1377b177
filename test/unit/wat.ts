/// <reference types="node" />
// What the unit tests that write their guests in WAT share: text to bytes (wabt), bytes to a
// module, and the runtime's fuel meter from the build.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import wabtInit from "wabt";

const wabt = await wabtInit();
type WasmFeatures = NonNullable<Parameters<typeof wabt.parseWat>[2]>;

/** The binary of a WAT module. */
export function watBytes(text: string, features: WasmFeatures = {}): Uint8Array {
  const parsed = wabt.parseWat("t.wat", text, features);
  const bytes = parsed.toBinary({}).buffer as Uint8Array;
  parsed.destroy();
  return bytes;
}

/** Plain Node compiles Wasm from bytes; the Workers types (which the project checks against) say it cannot. */
export const compile = (bytes: Uint8Array) => new (WebAssembly.Module as unknown as new (b: Uint8Array) => WebAssembly.Module)(bytes);

export const watModule = (text: string, features?: WasmFeatures) => compile(watBytes(text, features));

/** build/fuel.wasm, as a Runtime takes it. */
export const fuel = () => compile(readFileSync(resolve(__dirname, "../../build/fuel.wasm")));

/** src/codec/json-bytes.wat as the build makes it (scripts/build-modules.mjs: wabt, no other step). */
export function jsonKernelModule(): WebAssembly.Module {
  const text = readFileSync(resolve(__dirname, "../../src/codec/json-bytes.wat"), "utf8");
  const parsed = wabt.parseWat("json-bytes.wat", text, { bulk_memory: true, multi_value: true, mutable_globals: true, relaxed_simd: true });
  try {
    parsed.resolveNames();
    parsed.validate();
    return compile(parsed.toBinary({}).buffer as Uint8Array);
  } finally {
    parsed.destroy();
  }
}
