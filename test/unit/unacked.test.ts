// How far behind a socket's client is (durable-objects/unacked.ts): the platform's
// bufferedAmount where it is a number, else the bytes sent less those the client acknowledged.
import { describe, expect, it } from "vitest";
import { decodeFrame } from "../../durable-objects/frames.js";
import { acknowledge, behind, frameBytes, noBytes, sendCounted } from "../../durable-objects/unacked.js";
import { Acks } from "../../sdk/client/src/acks.js";
import { packFrame } from "../../sdk/client/src/codec.js";

/** A server socket; `bufferedAmount` as the platform has it (workerd: none). */
const socket = (bufferedAmount?: number) => ({ bufferedAmount, send: () => {} }) as unknown as WebSocket;

describe("unacked bytes", () => {
  it("counts a text frame in UTF-8, as it goes on the wire; a binary one by its length", () => {
    for (const text of ["", "ascii", "é", "€", "😀", "a\u{10FFFF}b", "\ud800", "x\udc00y", "\ud800\ud800\udc00"]) {
      expect(frameBytes(text), JSON.stringify(text)).toBe(new TextEncoder().encode(text).length);
    }
    expect(frameBytes(new Uint8Array(7))).toBe(7);
  });

  it("is the bytes not acknowledged where the platform has no bufferedAmount (workerd), bufferedAmount where it has", () => {
    const bytes = noBytes();
    const ws = socket();
    sendCounted(ws, bytes, "{\"line\":\"€\"}");
    sendCounted(ws, bytes, new Uint8Array(10));
    expect(behind(ws, bytes)).toBe(14 + 10);
    acknowledge(bytes, 14, "received");
    expect(behind(ws, bytes)).toBe(10);
    expect(behind(socket(3), bytes)).toBe(3);
  });

  it.each([
    [undefined, "is missing"],
    ["5", "is a string, not an integer"],
    [null, "is null, not an integer"],
    [1.5, "is 1.5, not an integer"],
    [-1, "is -1, negative"],
    [21, "is 21, more than the 20 bytes sent to it"],
    [4, "is 4, less than the 5 acknowledged before"],
    // Integers past 2^53 are integers, just more than was sent.
    [2 ** 53 + 2, "is 9007199254740994, more than the 20 bytes sent to it"],
    [1e21, "is 1e+21, more than the 20 bytes sent to it"],
    [Number.NaN, "is NaN, not an integer"],
    [Number.POSITIVE_INFINITY, "is Infinity, not an integer"],
    [true, "is a boolean, not an integer"],
    [[20], "is an array, not an integer"],
    [new Uint8Array(1), "is bytes, not an integer"],
    [{ bytes: 20 }, "is an object, not an integer"],
  ])("refuses the ack %j with BadRequest (%s), changing nothing", (received, why) => {
    const bytes = { sent: 20, acked: 5 };
    expect(() => acknowledge(bytes, received, "received")).toThrow(expect.objectContaining({ codeName: "BadRequest", message: expect.stringContaining(`received ${why}`) }));
    expect(bytes).toEqual({ sent: 20, acked: 5 });
    acknowledge(bytes, 5, "received"); // the same again is no error
    acknowledge(bytes, 20, "received");
    expect(bytes).toEqual({ sent: 20, acked: 20 });
  });

  it("refuses a bigint (a msgpack 64-bit integer past 2^53) as the integer it is, changing nothing", () => {
    const bytes = { sent: 20, acked: 5 };
    expect(() => acknowledge(bytes, 2n ** 64n - 1n, "ack.bytes")).toThrow(expect.objectContaining({ codeName: "BadRequest", message: expect.stringContaining("ack.bytes is 18446744073709551615, more than the 20 bytes sent to it") }));
    expect(() => acknowledge(bytes, -(2n ** 63n), "ack.bytes")).toThrow(expect.objectContaining({ codeName: "BadRequest", message: expect.stringContaining("ack.bytes is -9223372036854775808, negative") }));
    expect(bytes).toEqual({ sent: 20, acked: 5 });
  });

  it("counts past 2^32 exactly, from the typed client's count through its ack frame to the server's", () => {
    const frame = { byteLength: 2 ** 31 + 1 } as ArrayBuffer; // only its length is read
    const total = 3 * (2 ** 31 + 1);
    const counts: number[] = [];
    const acks = new Acks((n) => counts.push(n));
    for (let i = 0; i < 3; i++) acks.received(frame);
    expect(counts).toEqual([2 ** 31 + 1, 2 * (2 ** 31 + 1), total]);
    const ack = decodeFrame(new Uint8Array(packFrame({ type: "ack", bytes: counts.at(-1) })).buffer);
    const bytes = { sent: total, acked: 2 ** 32 };
    acknowledge(bytes, ack.type === "ack" ? ack.bytes : undefined, "ack.bytes");
    expect(bytes).toEqual({ sent: total, acked: total });
  });
});
