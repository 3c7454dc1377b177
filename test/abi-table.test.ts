import { describe, expect, it } from "vitest";
import signatures from "../build/signatures.json";
import { EXPORTS, IMPORTS, IMPORT_MODULE } from "../src/abi.js";

type Sig = { params: string[]; results: string[] };
type Module = { imports: Record<string, Sig>; exports: Record<string, Sig | string>; sdk: string };
const modules = signatures as Record<string, Module>;

/**
 * Every built module, whichever SDK made it, is held against the one ABI table
 * in src/abi.ts: the names and signatures of what it imports from "wasm-bus"
 * and of the wasm_bus_* functions it exports.
 */
describe("every module agrees with src/abi.ts", () => {
  it("covers modules from each guest SDK", () => {
    const sdks = new Set(Object.values(modules).map((m) => m.sdk));
    expect([...sdks]).toEqual(expect.arrayContaining(["assemblyscript", "rust", "wat"]));
  });

  for (const [path, module] of Object.entries(modules)) {
    it(`${path} (${module.sdk})`, () => {
      for (const [key, sig] of Object.entries(module.imports)) {
        const [from, name] = key.split(".") as [string, string];
        if (from !== IMPORT_MODULE) continue;
        const spec = IMPORTS[name as keyof typeof IMPORTS];
        expect(spec, `import ${name} is not in the ABI`).toBeDefined();
        expect(sig, `import ${name}`).toEqual({ params: [...spec.params], results: [...spec.results] });
      }
      expect(module.exports.memory).toBe("memory");
      for (const [name, sig] of Object.entries(module.exports)) {
        if (!name.startsWith("wasm_bus_")) continue;
        const spec = EXPORTS[name as keyof typeof EXPORTS];
        expect(spec, `export ${name} is not in the ABI`).toBeDefined();
        expect(sig, `export ${name}`).toEqual({ params: [...spec.params], results: [...spec.results] });
      }
    });
  }
});
