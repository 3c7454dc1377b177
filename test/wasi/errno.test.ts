// A crate that uses the `errno` crate links wasi-libc's __errno_location, which Debian 12's
// wasi-libc (2022) lacks: the module kept `env.__errno_location` as an import and was refused as
// IncorrectAbi. scripts/rust/toolchain.sh adds it to the sysroot's libc.a (wasi-libc-shim.c).
import { describe, expect, it } from "vitest";
import { guestApp } from "../helpers.js";
import { exited, runProcess } from "./helpers.js";

describe("a crate that uses errno (test/guests/errno-rs)", () => {
  it("links against the toolchain's wasi-libc: no import outside WASI and the bus", () => {
    const { runtime } = guestApp();
    const module = runtime.modules.get("errno-rs")!;
    expect(module.error).toBeUndefined();
    expect(WebAssembly.Module.imports(module.wasm).filter((i) => i.module === "env")).toEqual([]);
  });

  it("runs as a process: errno set, read, and set by a failing libc call", async () => {
    const ran = await runProcess("errno-rs", []);
    exited(ran);
    expect(ran.stdout).toEqual(["errno: before=0 after=42 close=-1 errno=8 (Bad file descriptor)"]);
  });
});
