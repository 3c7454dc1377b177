import { describe, expect, it } from "vitest";
import { GuestMemory } from "../../src/memory.js";
import { Runtime } from "../../src/runtime.js";
import { wasiImports } from "../../src/wasi.js";
import { WASI_FUNCTIONS } from "../../src/wasi/functions.js";
import { fuel, watModule } from "./wat.js";

// What a module may import from wasi_snapshot_preview1 (src/registry.ts): the functions preview1
// defines. Anything else is refused when the module loads, by name, as any import the ABI lacks.

const command = (name: string) =>
  watModule(`(module
    (import "wasi_snapshot_preview1" "${name}" (func $f (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "_start")))`);

describe("wasi_snapshot_preview1 imports", () => {
  it("one preview1 does not define is IncorrectAbi when the module loads, naming it", () => {
    const runtime = new Runtime({ odd: { manifest: { topics: {} }, wasm: command("sock_open") } }, { fuel: fuel(), log: () => {} });
    const error = runtime.modules.get("odd")!.error;
    expect(error?.codeName).toBe("IncorrectAbi");
    expect(error?.message).toContain("wasi_snapshot_preview1.sock_open");
    let thrown: unknown;
    try {
      runtime.spawn("odd", {});
    } catch (err) {
      thrown = err;
    }
    expect((thrown as { codeName?: string }).codeName).toBe("IncorrectAbi");
  });

  it("every function preview1 defines links", () => {
    for (const name of ["args_get", "fd_write", "poll_oneoff", "sock_accept", "path_symlink", "proc_raise"]) {
      const runtime = new Runtime({ ok: { manifest: { topics: {} }, wasm: command(name) } }, { fuel: fuel(), log: () => {} });
      expect(runtime.modules.get("ok")!.error, name).toBeUndefined();
    }
  });
});

describe("the WASI import table", () => {
  it("provides every function preview1 defines, and only those", () => {
    const memory = new GuestMemory(new WebAssembly.Memory({ initial: 1 }));
    const made = wasiImports({}, { memory: () => memory, clock: { sleepUntil: () => new Promise(() => {}), now: Date.now }, log: () => {} });
    expect(Object.keys(made.imports).sort()).toEqual([...WASI_FUNCTIONS].sort());
  });
});
