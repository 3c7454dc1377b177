import { pack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { Format } from "../src/abi.js";
import { decode, transcode } from "../src/codec/index.js";
import type { Schema } from "../src/codec/schema.js";
import { open } from "./bus-socket.js";

// In workerd, where msgpackr reads a str past 64 bytes with a TextDecoder of its own (Node's
// msgpackr reads it another way), so the unit project cannot see what this holds.
describe("a msgpack str that starts with U+FEFF keeps it, as bincode and JSON keep it", () => {
  const M: Schema = { map: ["string", "string"] };
  const text = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

  it("at every str length and header (fixstr, str8, str16, str32), as a key and as a value", () => {
    for (const n of [1, 30, 63, 64, 65, 200, 253, 300, 65_533, 70_000]) {
      const s = `\ufeff${"k".repeat(n)}`;
      const value = { [s]: s, [`${s}2`]: "a", b: s };
      const data = pack(value);
      expect(decode(Format.Msgpack, data, M), String(n)).toEqual(value);
      expect(JSON.parse(text.decode(transcode({ format: Format.Msgpack, data }, Format.Json, M).data)), String(n)).toEqual(value);
    }
  });

  it("with a key __proto__ beside it, and bytes after the value still counted as they came", () => {
    const s = `\ufeff${"k".repeat(100)}`;
    expect(decode(Format.Msgpack, pack({ ["__proto__"]: s, x: s }), M)).toEqual({ ["__proto__"]: s, x: s });
    const extra = new Uint8Array([...pack(s), 1, 2]);
    expect(() => decode(Format.Msgpack, extra, "string")).toThrow(/2 bytes after the value/);
  });
});

describe("a session call frame's str that starts with U+FEFF keeps it (durable-objects/frames.ts reads frames with msgpackr)", () => {
  it("names a 71-character topic and wapm with their U+FEFF in the faults, not the names without it", async () => {
    const c = await open(`/bus/chat/bom-${crypto.randomUUID().slice(0, 8)}`);
    const name = `\ufeff${"t".repeat(70)}`;
    c.call(1, name, {});
    c.call(2, "greet", {}, { wapm: name });
    expect(await c.next((f) => f.id === 1)).toMatchObject({ type: "fault", codeName: "InvalidTopic", error: `module chat has no topic ${name}` });
    expect(await c.next((f) => f.id === 2)).toMatchObject({ type: "fault", codeName: "InvalidWapm", error: `no module named ${name}` });
    c.ws.close(1000, "done");
  });
});
