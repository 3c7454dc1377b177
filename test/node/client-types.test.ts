/// <reference types="node" />
// The client's types hold: the generated table is what the manifests say, and a misspelled
// topic, field or module does not compile. Importing the compile-time checks here also puts them
// under the root `npm run typecheck`.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import * as abi from "../../src/abi.js";
import { Code } from "../../sdk/client/src/index.js";
import { tsType } from "../../sdk/client/scripts/generate.mjs";
import "../../sdk/client/test/types.check.js";

const run = (command: string, args: string[]) => {
  try {
    return { status: 0, output: execFileSync(command, args, { encoding: "utf8", stdio: "pipe" }) };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { status: e.status, output: `${e.stdout}${e.stderr}` };
  }
};

describe("the client's types", () => {
  it("are generated from the manifests as they are now", () => {
    expect(run("node", ["sdk/client/scripts/generate.mjs", "--check"])).toEqual({ status: 0, output: "" });
  });

  it("map the schema language to TypeScript", () => {
    expect(tsType("u32")).toBe("number");
    expect(tsType("u64")).toBe("Int64");
    expect(tsType("bytes")).toBe("Bytes");
    expect(tsType({ option: "string" })).toBe("string | null");
    expect(tsType({ seq: { tuple: ["bool", "unit"] } })).toBe("Array<[boolean, null]>");
    expect(tsType({ map: ["u8", "f64"] })).toBe("Record<string, number>");
    expect(tsType({ struct: { "a-b": "string", c: { option: "i8" } } })).toBe('{\n  "a-b": string;\n  c?: number | null;\n}');
    // a variant holding (): tagged only, as serde reads it (its name alone is "expected newtype variant")
    expect(tsType({ enum: { Ping: null, Say: "string", Nothing: "unit" } })).toBe('"Ping" | { Say: string } | { Nothing: null }');
  });

  it("type-check alone with the DOM's types (no Node built-ins), and every @ts-expect-error of test/types.check.ts is an error", () => {
    // tsc fails on an @ts-expect-error line that is not an error: a misspelled topic that compiled would fail here.
    const client = run("npx", ["tsc", "-p", "sdk/client/tsconfig.json"]);
    expect(client.output).toBe("");
    expect(client.status).toBe(0);
    const console = run("npx", ["tsc", "-p", "sdk/console/tsconfig.json"]);
    expect(console.output).toBe("");
  }, 60_000);

  it("know the ABI's error codes as the runtime does", () => {
    expect(Code).toEqual(abi.Code);
  });
});
