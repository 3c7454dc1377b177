import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module script without types
import { capMemory, declaredMax } from "../../scripts/wasm-memory-max.mjs";
import { compile, watBytes as wasm } from "./wat.js";

const grower = (memory: string) =>
  wasm(`(module ${memory} (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`);

function instantiate(bytes: Uint8Array) {
  return new WebAssembly.Instance(compile(bytes)).exports as unknown as { memory: WebAssembly.Memory; grow(n: number): number };
}

describe("the build declares limits.memoryPages as the memory's maximum (scripts/wasm-memory-max.mjs)", () => {
  it("makes memory.grow past the limit return -1 in the guest, without growing", () => {
    const before = instantiate(grower('(memory (export "memory") 2)'));
    expect(before.grow(100)).toBe(2); // uncapped: grows
    const capped = instantiate(capMemory(grower('(memory (export "memory") 2)'), 4));
    expect(capped.grow(2)).toBe(2);
    expect(capped.grow(1)).toBe(-1);
    expect(capped.grow(16384)).toBe(-1);
    expect(capped.memory.buffer.byteLength).toBe(4 * 65536);
  });

  it("keeps a smaller declared maximum, and leaves a module without memory as it is", () => {
    const capped = instantiate(capMemory(grower('(memory (export "memory") 1 3)'), 64));
    expect(capped.grow(3)).toBe(-1);
    expect(capped.grow(2)).toBe(1);
    const none = wasm('(module (func (export "f")))');
    expect(capMemory(none, 4)).toBe(none);
  });

  it("refuses a module whose memory starts above its limit", () => {
    expect(() => capMemory(grower('(memory (export "memory") 10)'), 4)).toThrow(/starts at 10 pages, over limits.memoryPages \(4\)/);
  });

  it("declaredMax reads the maximum a binary declares, which is what the registry says (not the manifest)", () => {
    const plain = grower('(memory (export "memory") 2)');
    expect(declaredMax(plain)).toBeUndefined();
    expect(declaredMax(capMemory(plain, 7))).toBe(7);
    expect(declaredMax(grower('(memory (export "memory") 1 3)'))).toBe(3);
    expect(declaredMax(wasm('(module (func (export "f")))'))).toBeUndefined();
  });
});
