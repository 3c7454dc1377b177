import { pack, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { BadFrame, badFrameAnswer, decodeFrame, encodeFrame, faultFrame, type ServerFrame } from "../../durable-objects/frames.js";
import { Code } from "../../src/abi.js";
import { BusError } from "../../src/errors.js";
import { thrown } from "./thrown.js";

/** A frame as the WebSocket hands it over: an ArrayBuffer of exactly the frame's bytes. */
const frame = (value: unknown): ArrayBuffer => new Uint8Array(pack(value)).buffer;
const raw = (...bytes: number[]): ArrayBuffer => new Uint8Array(bytes).buffer;

const call = { type: "call", id: 7, topic: "greet", format: "json", payload: new Uint8Array([123, 125]) };

describe("decodeFrame refuses", () => {
  it("text frames", () => {
    expect(() => decodeFrame('{"type":"drop","id":1}')).toThrowError("frames are binary msgpack, not text");
  });

  it("bytes that are not msgpack, or more than one value", () => {
    expect(() => decodeFrame(raw())).toThrowError(/^not msgpack: /);
    expect(() => decodeFrame(raw(0x92, 0x01))).toThrowError(/^not msgpack: /);
    expect(() => decodeFrame(raw(0x81, 0xa2, 0x69))).toThrowError(/^not msgpack: /);
    expect(() => decodeFrame(raw(...pack({ type: "drop", id: 1 }), 0x01))).toThrowError(/^not msgpack: /);
  });

  it("scalars, which are not maps", () => {
    for (const value of [5, "drop", null, true, 1.5]) {
      expect(() => decodeFrame(frame(value))).toThrowError("a frame is a msgpack map");
    }
  });

  it("arrays, bin and 0xc1 (not maps either)", () => {
    // Their message names the missing id rather than the shape: see the report on frames.ts.
    for (const bytes of [pack([1, 2]), pack(new Uint8Array([1])), new Uint8Array([0xc1])]) {
      expect(() => decodeFrame(new Uint8Array(bytes).buffer)).toThrowError(Error);
    }
  });

  it.each([
    ["missing", { type: "drop" }],
    ["negative", { type: "drop", id: -1 }],
    ["fractional", { type: "drop", id: 1.5 }],
    ["a string", { type: "drop", id: "1" }],
    ["null", { type: "drop", id: null }],
    ["NaN", { type: "drop", id: Number.NaN }],
  ])("an id that is %s", (_what, value) => {
    expect(() => decodeFrame(frame(value))).toThrowError("id must be a non-negative integer");
  });

  it("unknown frame types, naming them", () => {
    expect(() => decodeFrame(frame({ type: "reply", id: 1 }))).toThrowError('unknown frame type "reply"');
    expect(() => decodeFrame(frame({ type: "CALL", id: 1 }))).toThrowError('unknown frame type "CALL"');
    expect(() => decodeFrame(frame({ id: 1 }))).toThrowError("unknown frame type undefined");
  });

  it("calls without a topic, or with an empty or non-string one", () => {
    for (const topic of [undefined, "", 5, null]) {
      expect(() => decodeFrame(frame({ ...call, topic }))).toThrowError("call.topic must be a string");
    }
  });

  it("calls with an unknown format, by name or number", () => {
    for (const format of ["xml", "JSON", 4, -1, 1.5, undefined, null, "constructor"]) {
      expect(() => decodeFrame(frame({ ...call, format }))).toThrowError("call.format must be one of raw, json, msgpack, bincode");
    }
  });

  it("calls whose payload is not bytes", () => {
    for (const payload of ["{}", [123, 125], { a: 1 }, 5]) {
      expect(() => decodeFrame(frame({ ...call, payload }))).toThrowError("call.payload must be bytes (msgpack bin)");
    }
  });

  it("calls whose parent is not a number, or whose wapm is not a string", () => {
    expect(() => decodeFrame(frame({ ...call, parent: "1" }))).toThrowError("call.parent must be the id of an earlier call");
    expect(() => decodeFrame(frame({ ...call, parent: null }))).toThrowError("call.parent must be the id of an earlier call");
    expect(() => decodeFrame(frame({ ...call, wapm: 5 }))).toThrowError("call.wapm must be a string");
  });
});

describe("decodeFrame takes", () => {
  it("a drop frame, ignoring other fields", () => {
    expect(decodeFrame(frame({ type: "drop", id: 0, topic: 5 }))).toEqual({ type: "drop", id: 0 });
  });

  it("a call frame with parent, keepalive and wapm", () => {
    const decoded = decodeFrame(frame({ ...call, format: "msgpack", keepalive: true, parent: 3, wapm: "hello" }));
    expect(decoded).toEqual({
      type: "call",
      id: 7,
      topic: "greet",
      format: "msgpack",
      payload: new Uint8Array([123, 125]),
      keepalive: true,
      parent: 3,
      wapm: "hello",
    });
    if (decoded.type !== "call") throw new Error("not a call");
    expect(decoded.payload).toBeInstanceOf(Uint8Array);
  });

  it("a format by number, as the ABI numbers them", () => {
    const names = [0, 1, 2, 3].map((format) => (decodeFrame(frame({ ...call, format })) as { format: string }).format);
    expect(names).toEqual(["raw", "json", "msgpack", "bincode"]);
  });

  it("a call without payload as an empty payload, and keepalive only when exactly true", () => {
    const { payload: _payload, ...noPayload } = call;
    const decoded = decodeFrame(frame({ ...noPayload, keepalive: 1 }));
    expect(decoded).toMatchObject({ type: "call", keepalive: false, parent: undefined, wapm: undefined });
    expect((decoded as { payload: Uint8Array }).payload).toEqual(new Uint8Array());
  });

  it("integers written in 64 bits (uint64 0xcf, int64 0xd3), as some encoders write every u64 or i64 field: ids and an ack's bytes as numbers", () => {
    // A fixmap of `fields` whose values are msgpack bytes written by hand.
    const map = (fields: Record<string, number[]>) => raw(0x80 | Object.keys(fields).length, ...Object.entries(fields).flatMap(([k, v]) => [...pack(k), ...v]));
    const u64 = (n: bigint) => [0xcf, ...Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(56 - 8 * i)) & 0xffn))];
    const i64 = (n: bigint) => [0xd3, ...u64(BigInt.asUintN(64, n)).slice(1)];
    const type = (t: string) => [...pack(t)];
    expect(decodeFrame(map({ type: type("drop"), id: u64(5n) }))).toEqual({ type: "drop", id: 5 });
    expect(decodeFrame(map({ type: type("call"), id: i64(7n), topic: [...pack("greet")], format: u64(1n), parent: u64(3n) }))).toMatchObject({ type: "call", id: 7, format: "json", parent: 3 });
    expect(decodeFrame(map({ type: type("ack"), bytes: u64(2n ** 40n) }))).toEqual({ type: "ack", bytes: 2 ** 40 });
    expect(decodeFrame(map({ type: type("ack"), bytes: i64(-1n) }))).toEqual({ type: "ack", bytes: -1 });
    // Past 2^53 a number would be another integer: it stays a bigint, which no check takes.
    expect(decodeFrame(map({ type: type("ack"), bytes: u64(2n ** 64n - 1n) }))).toEqual({ type: "ack", bytes: 2n ** 64n - 1n });
    // An id past 2^53 is an integer, but not one a client can count with exactly: the bound is named.
    expect(() => decodeFrame(map({ type: type("drop"), id: u64(2n ** 63n) }))).toThrowError("id must be a non-negative integer below 2^53");
  });

  it("a frame in a Uint8Array's own ArrayBuffer, whatever offset the socket's buffer would have", () => {
    const bytes = new Uint8Array(16 + pack(call).length);
    bytes.set(pack(call), 16);
    expect(decodeFrame(bytes.slice(16).buffer)).toMatchObject({ type: "call", id: 7 });
  });
});

describe("encodeFrame and faultFrame", () => {
  it("round-trips a client call frame through decodeFrame", () => {
    const sent = { type: "call", id: 9, topic: "t", format: "raw", payload: new Uint8Array([0, 255]), keepalive: true, parent: 2, wapm: "w" } as const;
    const bytes = encodeFrame(sent);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(decodeFrame(new Uint8Array(bytes).buffer)).toEqual(sent);
  });

  it("writes server frames as msgpack maps, payloads as bin", () => {
    const reply: ServerFrame = { type: "reply", id: 1, format: "json", payload: new Uint8Array([1, 2]) };
    const { payload, ...rest } = unpack(encodeFrame(reply)) as Record<string, unknown>;
    expect(rest).toEqual({ type: "reply", id: 1, format: "json" });
    // In Node, msgpackr reads bin as a Buffer, a Uint8Array.
    expect(payload).toBeInstanceOf(Uint8Array);
    expect([...(payload as Uint8Array)]).toEqual([1, 2]);
    // A map header: fixmap, map16 (msgpackr's choice without variableMapSize) or map32.
    const head = encodeFrame(reply)[0]!;
    expect((head & 0xf0) === 0x80 || head === 0xde || head === 0xdf).toBe(true);
  });

  it("hands out bytes of its own, not a view of a reused buffer", () => {
    const a = encodeFrame({ type: "error", code: Code.BadRequest, codeName: "BadRequest", error: "first" });
    const copy = [...a];
    encodeFrame({ type: "error", code: Code.BadRequest, codeName: "BadRequest", error: "second, and longer than the first" });
    expect([...a]).toEqual(copy);
  });

  it("faultFrame carries the code, its name, the message and the module's detail", () => {
    const frame = faultFrame(4, BusError.of("BadRequest", "greet wants a name", "no name given"));
    expect(frame).toEqual({ type: "fault", id: 4, code: Code.BadRequest, codeName: "BadRequest", error: "greet wants a name", detail: "no name given" });
    expect(unpack(encodeFrame(frame))).toEqual(frame);
  });

  it("faultFrame leaves detail out when there is none", () => {
    const frame = faultFrame(5, BusError.of("Timeout", "too slow"));
    expect(frame).toEqual({ type: "fault", id: 5, code: Code.Timeout, codeName: "Timeout", error: "too slow" });
    expect(Object.hasOwn(unpack(encodeFrame(frame)) as object, "detail")).toBe(false);
  });

  it("faultFrame makes any other throwable an InternalFailure", () => {
    expect(faultFrame(6, new TypeError("boom"))).toEqual({ type: "fault", id: 6, code: Code.InternalFailure, codeName: "InternalFailure", error: "boom" });
    expect(faultFrame(6, "plain")).toMatchObject({ code: Code.InternalFailure, error: "plain" });
  });
});

describe("badFrameAnswer", () => {
  const answer = (value: unknown, live: (id: number) => boolean = () => false) => {
    try {
      decodeFrame(frame(value));
    } catch (err) {
      expect(err).toBeInstanceOf(BadFrame);
      return badFrameAnswer(err as BadFrame, live);
    }
    throw new Error("the frame was read");
  };

  it("faults the call whose id could be read, with BadRequest: the client's call ends", () => {
    expect(answer({ ...call, topic: 5 })).toEqual({ type: "fault", id: 7, code: Code.BadRequest, codeName: "BadRequest", error: "bad frame: call.topic must be a string" });
    expect(answer({ ...call, format: "xml" })).toMatchObject({ type: "fault", id: 7, codeName: "BadRequest" });
    expect(answer({ ...call, wapm: 5 })).toMatchObject({ type: "fault", id: 7, codeName: "BadRequest" });
  });

  it("answers an error frame, with its code, where there is no call id to fault", () => {
    expect(answer({ type: "call", id: -1, topic: "greet" })).toEqual({ type: "error", code: Code.BadRequest, codeName: "BadRequest", error: "bad frame: id must be a non-negative integer below 2^53" });
    expect(answer(5)).toMatchObject({ type: "error", codeName: "BadRequest", error: "bad frame: a frame is a msgpack map" });
    // Not a call: the client made no call by that id.
    expect(answer({ type: "reply", id: 1 })).toMatchObject({ type: "error", codeName: "BadRequest" });
  });

  it("answers an error frame, not a fault, where the id is a live call's: that call goes on", () => {
    expect(answer({ ...call, topic: 5 }, (id) => id === 7)).toEqual({
      type: "error",
      code: Code.BadRequest,
      codeName: "BadRequest",
      error: "bad frame: call.topic must be a string (its id 7 is a live call's, which goes on)",
    });
    expect(answer({ ...call, topic: 5 }, (id) => id === 8)).toMatchObject({ type: "fault", id: 7 });
  });
});

describe("decodeFrame's container budget", () => {
  /** A call frame with a field `extra` of `n` empty arrays. */
  const padded = (n: number, before: Record<string, unknown> = {}) => {
    const head = pack({ ...call, ...before, extra: null });
    const out = new Uint8Array(head.length - 1 + 5 + n).fill(0x90);
    out.set(head.subarray(0, head.length - 1));
    out.set([0xdd, 0, n >> 16, (n >> 8) & 0xff, n & 0xff], head.length - 1);
    return out.buffer;
  };

  it("reads a frame of as many maps, arrays and bins as JSON in its 64 KiB of room could hold, and refuses one more before making any", () => {
    // the frame's map and its payload's bin (3 bytes each, `,{}`), the array (2, `[]`): 8 of the
    // 65,537 (the root needs no comma), and 32,764 arrays in it
    expect(decodeFrame(padded(32_764))).toMatchObject({ type: "call", id: 7 });
    expect(() => decodeFrame(padded(32_765))).toThrowError("msgpack payload over its container budget: its maps and bins (3 bytes each) and arrays (2) would take more than the limit of 65536 bytes");
    // empty maps and bins, 3 bytes each (`,{}`): 64 and 104 bytes of heap where an array is 40
    const of = (n: number, unit: number[]) => {
      const arrays = new Uint8Array(padded(n));
      const out = new Uint8Array(arrays.length + n * (unit.length - 1));
      out.set(arrays.subarray(0, arrays.length - n));
      for (let i = 0; i < n; i++) out.set(unit, arrays.length - n + i * unit.length);
      return out.buffer;
    };
    expect(decodeFrame(of(21_843, [0x80]))).toMatchObject({ type: "call", id: 7 });
    expect(() => decodeFrame(of(21_844, [0x80]))).toThrowError("over its container budget");
    expect(decodeFrame(of(21_843, [0xc4, 0x00]))).toMatchObject({ type: "call", id: 7 });
    expect(() => decodeFrame(of(21_844, [0xc4, 0x00]))).toThrowError("over its container budget");
    // two million empty arrays: a frame within 2 MiB plus its room (the default requestBytes)
    const answer = badFrameAnswer(thrown(BadFrame, () => decodeFrame(padded(2_000_000))), () => false);
    expect(answer).toMatchObject({ type: "error", codeName: "BadRequest" });
  });

  it("holds past what else the scan would refuse: an ext value (msgpackr packs undefined as one), 0xc1 or a str not UTF-8 before the arrays", () => {
    const budget = "msgpack payload over its container budget: its maps and bins (3 bytes each) and arrays (2) would take more than the limit of 65536 bytes";
    // A field msgpackr packs as fixext 1 (d4 00 00), as the client does a field left undefined.
    expect(decodeFrame(padded(32_764, { note: undefined }))).toMatchObject({ type: "call", id: 7 });
    expect(() => decodeFrame(padded(2_000_000, { note: undefined }))).toThrowError(budget);
    // The same frame with the str "x" made a lone 0xff (msgpackr reads it as U+FFFD).
    const bad = new Uint8Array(padded(2_000_000, { note: "x" }));
    const at = bad.findIndex((b, i) => b === 0xa1 && bad[i + 1] === 0x78 && bad[i - 1] === 0x65); // "note" then fixstr "x"
    bad[at + 1] = 0xff;
    expect(() => decodeFrame(bad.buffer)).toThrowError(budget);
    // A key of 0xc1 in front of the arrays.
    const c1 = new Uint8Array(padded(2_000_000, { note: null }));
    c1[c1.indexOf(0xc0)] = 0xc1;
    expect(() => decodeFrame(c1.buffer)).toThrowError(budget);
  });
});
