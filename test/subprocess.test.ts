import { describe, expect, it } from "vitest";
import { Code } from "../src/abi.js";
import { guestApp } from "./helpers.js";

describe("sub-processes (process service)", () => {
  it("a module spawns countdown and reads its stdout and exit through callbacks", async () => {
    const { call, logs } = guestApp();
    const res = await call("spawner", "run", { module: "countdown", args: ["3", "10"], env: {}, stdin: null });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toBe(0);
    const out = logs.filter((l) => l.module === "spawner").map((l) => l.msg);
    // each stdout callback carries one line's bytes ("3\n" ...), as serde writes Vec<u8> in json
    expect(out).toEqual(["[51,10]", "[50,10]", "[49,10]"]);
  });

  it("hears a failing child's exit code", async () => {
    const { call } = guestApp();
    const res = await call("spawner", "run", { module: "countdown", args: ["nope"], env: {}, stdin: null });
    expect(await res.json()).toBe(2);
  });

  it("feeds the child's stdin from the spawn request", async () => {
    const { call, logs } = guestApp();
    const res = await call("spawner", "run", { module: "upcase", args: [], env: {}, stdin: [104, 105, 10] });
    expect(await res.json()).toBe(0);
    expect(logs.filter((l) => l.module === "spawner").map((l) => l.msg)).toEqual(["[72,73,10]"]);
  });

  it("refuses an unknown module with InvalidWapm", async () => {
    const { call } = guestApp();
    const res = await call("spawner", "run", { module: "nope", args: [], env: {}, stdin: null });
    expect(await res.json()).toMatchObject({ code: Code.InvalidWapm });
  });
});
