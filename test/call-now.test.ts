import { describe, expect, it } from "vitest";
import { CALL_NOW_OUT_BYTES, Code, Format } from "../src/abi.js";
import { guestApp } from "./helpers.js";

/** What test/guests/now answers: the header it writes after each call_now, and the result's bytes. */
interface Seen {
  status: number;
  ready: number;
  handle: number;
  format: number;
  ptr: number;
  len: number;
  /** 0: inside the import; 1: through wasm_bus_finish; 2: through wasm_bus_error. */
  via: number;
  extra: number;
  ticks: number;
  data: Uint8Array;
}

function parse(bytes: Uint8Array): Seen {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [status, ready, handle, format, ptr, len, via, extra, ticks] = Array.from({ length: 9 }, (_, i) => v.getUint32(i * 4, true));
  return { status, ready, handle, format, ptr, len, via, extra, ticks, data: bytes.slice(36) } as Seen;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const RESULT_BUFFER = 8192;

describe("call_now (ABI v2): a result during the import when the service answers at once", () => {
  const setup = () => {
    const { runtime, logs } = guestApp();
    const ask = async (topic: string, data: Uint8Array = new Uint8Array()) =>
      parse((await runtime.request("now", topic, { format: Format.Raw, data })).data);
    return { runtime, logs, ask };
  };
  const echoRequest = (cap: number, payload: Uint8Array) => {
    const req = new Uint8Array(4 + payload.length);
    new DataView(req.buffer).setUint32(0, cap, true);
    req.set(payload, 4);
    return req;
  };

  it("the out record is 20 bytes: ready, handle, format, ptr, len", () => expect(CALL_NOW_OUT_BYTES).toBe(20));

  it("echo: the reply is in the caller's buffer before the import returns, with no handle left", async () => {
    const { ask } = setup();
    const payload = new TextEncoder().encode("sixteen bytes!!!");
    const seen = await ask("echo", echoRequest(64, payload));
    expect(seen).toMatchObject({ status: Code.Success, ready: 1, handle: 0, format: Format.Raw, ptr: RESULT_BUFFER, len: 16, via: 0 });
    expect(text(seen.data)).toBe("sixteen bytes!!!");
  });

  it("echo: a reply larger than the caller's buffer comes in a wasm_bus_malloc buffer, still inside the import", async () => {
    const { ask } = setup();
    const payload = Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff);
    const seen = await ask("echo", echoRequest(100, payload));
    expect(seen).toMatchObject({ status: Code.Success, ready: 1, format: Format.Raw, len: 3000, via: 0 });
    expect(seen.ptr).toBeGreaterThanOrEqual(65536); // the guest's bump allocator
    expect(seen.data).toEqual(payload);
  });

  it("an empty reply is ptr 0, len 0", async () => {
    const { ask } = setup();
    expect(await ask("echo", echoRequest(64, new Uint8Array()))).toMatchObject({ status: 0, ready: 1, ptr: 0, len: 0, via: 0 });
  });

  it("time.now answers at once", async () => {
    const { ask } = setup();
    const before = Date.now();
    const seen = await ask("now");
    expect(seen).toMatchObject({ status: 0, ready: 1, handle: 0, format: Format.Json, ptr: RESULT_BUFFER, via: 0 });
    expect(Number(text(seen.data))).toBeGreaterThanOrEqual(before);
  });

  it("time.sleep cannot answer at once: the call goes on and its result comes through wasm_bus_finish", async () => {
    const { ask } = setup();
    const seen = await ask("sleep");
    expect(seen).toMatchObject({ status: 0, ready: 0, via: 1, format: Format.Json });
    expect(seen.handle).not.toBe(0);
    expect(text(seen.data)).toBe("null");
  });

  it("a module whose reply comes before it returns answers inside the import (ticks.count)", async () => {
    const { ask, runtime } = setup();
    const seen = await ask("count");
    expect(seen).toMatchObject({ status: 0, ready: 1, handle: 0, format: Format.Json, via: 0 });
    expect(text(seen.data)).toMatch(/^[1-9]$/);
    // ticks' instance went back to its pool: the next call finds it idle and counts on
    const again = await ask("count");
    expect(Number(text(again.data))).toBe(Number(text(seen.data)) + 1);
    expect((await runtime.request("ticks", "count", { format: Format.Json, data: new TextEncoder().encode("{}") })).format).toBe(Format.Json);
  });

  it("a module that answers later (ticks.wait sleeps first) goes through wasm_bus_finish", async () => {
    const { ask } = setup();
    const seen = await ask("wait");
    expect(seen).toMatchObject({ status: 0, ready: 0, via: 1, format: Format.Json });
    expect(seen.handle).not.toBe(0);
    expect(text(seen.data)).toMatch(/^[1-9]$/);
  });

  it("callbacks before the result keep their order: all of them, then the result, through the queue", async () => {
    const { ask } = setup();
    const seen = await ask("flood");
    // 20,000 ticks in one entry of flood: 4,096 queued for this guest, the rest refused
    expect(seen).toMatchObject({ status: 0, ready: 0, via: 1, ticks: 4096 });
    expect(text(seen.data)).toBe(String(20_000 - 4096));
  });

  it("a result that could come at once does not overtake what is queued for the guest", async () => {
    const { ask } = setup();
    // flood.go queues 4,096 ticks and its result; the echo made next in the same entry comes after them
    const seen = await ask("ordered");
    expect(seen).toMatchObject({ status: 0, ready: 0, via: 1, format: Format.Raw, len: 2, ticks: 4096, extra: 1 });
    expect(seen.handle).not.toBe(0);
  });

  it("a kept-alive call answered at once keeps a handle the guest can drop", async () => {
    const { ask } = setup();
    const seen = await ask("keep");
    expect(seen).toMatchObject({ status: 0, ready: 1, via: 0, extra: Code.Success, data: new TextEncoder().encode("{}") });
    expect(seen.handle).not.toBe(0);
  });

  it("an out record outside memory is InvalidPointer, and no call starts", async () => {
    const { ask, logs } = setup();
    const seen = await ask("bad-out");
    expect(seen.status).toBe(Code.InvalidPointer);
    expect(logs.map((l) => l.msg)).toContainEqual(expect.stringMatching(/call_now out/));
  });

  it("a refused call is a status, as for call (InvalidWapm)", async () => {
    const { ask } = setup();
    expect((await ask("unknown")).status).toBe(Code.InvalidWapm);
  });

  it("v1 guests are unchanged: ticks (call + wasm_bus_finish) serves and calls as before", async () => {
    const { runtime } = guestApp();
    const res = await runtime.request("ticks", "wait", { format: Format.Json, data: new TextEncoder().encode("{}") });
    expect(text(res.data)).toMatch(/^[1-9]$/);
  });
});
