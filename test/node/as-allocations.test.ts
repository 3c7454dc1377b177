/// <reference types="node" />
// Runs in Node (the "node" vitest project): what the AssemblyScript SDK allocates to serve one call.
// modules/hello is built with the allocator's trace hooks (ASC_RTRACE) into a temporary folder and
// driven through its exports by a stub host that copies each reply out during `reply`, as the host
// does (src/instance/read-payload.ts). Each block the guest allocates is TLSF and collector work in
// every AssemblyScript module's calls: greet made 33 allocations and moved 4 arrays per call.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compile } from "../unit/wat.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** Allocations per greet call: its own (request bytes, Request, the Value trees, two concatenations) and the handle table's. */
const GREET_ALLOCATIONS = 21;
/** As JSON, and one more (MessagePack made 36 and moved 4, and its writer took a buffer per string). */
const GREET_MSGPACK_ALLOCATIONS = 22;
const utf8 = new TextEncoder();
/** {"name":"Ada"} in MessagePack: a fixmap of one entry, two fixstr. */
const ADA_MSGPACK = new Uint8Array([0x81, 0xa4, ...utf8.encode("name"), 0xa3, ...utf8.encode("Ada")]);
const HELLO_ADA_MSGPACK = new Uint8Array([0x81, 0xa7, ...utf8.encode("message"), 0xab, ...utf8.encode("Hello, Ada!")]);

interface Guest {
  /** Serves one greet call in JSON; answers the reply's text. */
  greet(request: string): string;
  /** Serves one greet call in MessagePack; answers the reply's bytes. */
  greetMsgpack(request: Uint8Array): Uint8Array;
  counts: { alloc: number; move: number };
}

function load(file: string): Guest {
  const counts = { alloc: 0, move: 0 };
  let memory: WebAssembly.Memory | undefined;
  let reply = new Uint8Array(0);
  const hooks: Record<string, Record<string, (...args: number[]) => number>> = {
    rtrace: {
      onalloc: () => (counts.alloc++, 0),
      onmove: () => (counts.move++, 0),
      onvisit: () => 1,
      onstore: (ptr) => ptr,
      onload: (ptr) => ptr,
    },
    "wasm-bus": {
      // Copied before the import returns, as the host does.
      reply: (_handle, _format, ptr, len) => ((reply = new Uint8Array(memory!.buffer, ptr, len).slice()), 0),
    },
  };
  const module = compile(readFileSync(file));
  const imports: WebAssembly.Imports = {};
  for (const i of WebAssembly.Module.imports(module)) {
    (imports[i.module] ??= {})[i.name] = hooks[i.module]?.[i.name] ?? (() => 0);
  }
  const exports = new WebAssembly.Instance(module, imports).exports as Record<string, CallableFunction> & { memory: WebAssembly.Memory };
  memory = exports.memory;
  exports._initialize!();
  let handle = 1;
  const serve = (format: number, request: Uint8Array) => {
    const bytes = new Uint8Array([...utf8.encode("greet"), ...request]);
    const ptr = exports.wasm_bus_malloc!(bytes.length) as number;
    new Uint8Array(memory!.buffer, ptr, bytes.length).set(bytes);
    reply = new Uint8Array(0);
    exports.wasm_bus_start!(0, handle++, format, ptr, 5, ptr + 5, request.length);
    return reply;
  };
  return {
    counts,
    greet: (request) => new TextDecoder().decode(serve(1, utf8.encode(request))),
    greetMsgpack: (request) => serve(2, request),
  };
}

describe("the AssemblyScript SDK serving a call", () => {
  let dir: string;
  let guest: Guest;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "as-allocations-"));
    const file = join(dir, "hello.wasm");
    execFileSync(join(repo, "node_modules/.bin/asc"), [
      "modules/hello/index.ts", "--config", "sdk/assemblyscript/asconfig.json", "--target", "release",
      "--use", "ASC_RTRACE=1", "--use", "BUS_RT_TOTAL=~lib/rt/tcms/total", "--outFile", file,
    ], { cwd: repo, stdio: "pipe" });
    guest = load(file);
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`allocates at most ${GREET_ALLOCATIONS} blocks per greet and moves none`, () => {
    // Warm: the tables and the reply's writer reach their size.
    for (let i = 0; i < 100; i++) guest.greet('{"name":"Ada"}');
    guest.counts.alloc = guest.counts.move = 0;
    const calls = 1000;
    for (let i = 0; i < calls; i++) expect(guest.greet('{"name":"Ada"}')).toBe('{"message":"Hello, Ada!"}');
    expect(guest.counts.alloc / calls).toBeLessThanOrEqual(GREET_ALLOCATIONS);
    expect(guest.counts.move).toBe(0);
  });

  it(`allocates at most ${GREET_MSGPACK_ALLOCATIONS} blocks per greet in MessagePack and moves none`, () => {
    for (let i = 0; i < 100; i++) guest.greetMsgpack(ADA_MSGPACK);
    guest.counts.alloc = guest.counts.move = 0;
    const calls = 1000;
    for (let i = 0; i < calls; i++) expect(guest.greetMsgpack(ADA_MSGPACK)).toEqual(HELLO_ADA_MSGPACK);
    expect(guest.counts.alloc / calls).toBeLessThanOrEqual(GREET_MSGPACK_ALLOCATIONS);
    expect(guest.counts.move).toBe(0);
  });

  it("answers each call with its own reply's bytes, after a larger one and a smaller one", () => {
    const long = "x".repeat(100_000);
    expect(guest.greet(JSON.stringify({ name: long }))).toBe(JSON.stringify({ message: `Hello, ${long}!` }));
    expect(guest.greet('{"name":"Bo"}')).toBe('{"message":"Hello, Bo!"}');
    expect(guest.greet('{"name":"Ada Lovelace"}')).toBe('{"message":"Hello, Ada Lovelace!"}');
    expect(guest.greet('{"name":"Al"}')).toBe('{"message":"Hello, Al!"}');
  });
});
