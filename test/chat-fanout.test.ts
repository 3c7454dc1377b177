import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { fuel } from "../build/fuel.js";
import { modules } from "../build/registry.js";
import { Code, Format } from "../src/abi.js";
import type { BusCall } from "../src/call.js";
import type { LogLine } from "../src/log.js";
import { Runtime } from "../src/runtime.js";

const json = (v: unknown) => ({ format: Format.Json, data: new TextEncoder().encode(JSON.stringify(v)) });

/**
 * A post's cost grows with its room, but its text's size should count once per post, not once per
 * member: the chat module encodes the message once and hands every member the same bytes. Held
 * here by the fuel a post may use (loop iterations, limits.fuel): a 4 KB text re-encoded for each
 * of 32 members ran out of it (three passes over its bytes per member); encoded once, a post takes
 * under 40,000.
 */
describe("chat: one post to a room of 32 members", () => {
  it("encodes a 4 KB text once, not once per member (within 150,000 fuel)", async () => {
    const logs: LogLine[] = [];
    const chat = { ...modules.chat!, manifest: { ...(modules.chat!.manifest as object), limits: { fuel: 150_000 } } };
    const runtime = new Runtime({ chat }, { fuel, log: (line) => logs.push(line) });
    runtime.instances.pin(runtime.instances.create(runtime.modules.get("chat")!, { ephemeral: false }));
    const received: string[] = [];
    const joins: BusCall[] = [];
    for (let i = 0; i < 32; i++) {
      await new Promise<void>((resolve, reject) => {
        const call = runtime.start("chat", "join", json({ name: `m${i}` }), {
          finish: () => resolve(),
          fail: reject,
          callback: (topic, payload) => {
            received.push(`${i} ${topic} ${new TextDecoder().decode(payload.data).length}`);
            return Code.Success;
          },
        }, { keepalive: true, caller: "ws" });
        joins.push(call);
      });
    }
    const text = "x".repeat(4096);
    const reply = await new Promise((resolve, reject) => {
      runtime.start("chat", "post", json({ text }), { finish: (p) => resolve(JSON.parse(new TextDecoder().decode(p.data))), fail: reject, callback: () => Code.MissingCallbacks }, { parent: joins[0], caller: "ws" });
    });
    expect(reply).toEqual({ delivered: 32 });
    const size = JSON.stringify({ from: "m0", text }).length;
    expect(received).toEqual(joins.map((_, i) => `${i} message ${size}`));
    expect(logs.filter((l) => l.level === "warn" || l.level === "error")).toEqual([]);
  });
});

describe("chat: a post to members that joined in msgpack", () => {
  it("is transcoded for them once per post, not once per member, each post its own", async () => {
    const packr = new Packr({ useRecords: false });
    const runtime = new Runtime({ chat: modules.chat! }, { fuel, log: () => {} });
    runtime.instances.pin(runtime.instances.create(runtime.modules.get("chat")!, { ephemeral: false }));
    // What each member got, per post: the payload's bytes as they came.
    const got: Uint8Array[][] = [];
    const joins: BusCall[] = [];
    for (let i = 0; i < 8; i++) {
      await new Promise<void>((resolve, reject) => {
        const call = runtime.start("chat", "join", { format: Format.Msgpack, data: packr.pack({ name: `m${i}` }) }, {
          finish: () => resolve(),
          fail: reject,
          callback: (topic, payload) => {
            expect({ topic, format: payload.format }).toEqual({ topic: "message", format: Format.Msgpack });
            (got[i] ??= []).push(payload.data);
            return Code.Success;
          },
        }, { keepalive: true, caller: "ws" });
        joins.push(call);
      });
    }
    // Two posts of the same length that differ in their last byte: the second is no repeat.
    for (const text of ["y".repeat(4095) + "a", "y".repeat(4095) + "b"]) {
      await new Promise((resolve, reject) => {
        runtime.start("chat", "post", json({ text }), { finish: resolve, fail: reject, callback: () => Code.MissingCallbacks }, { parent: joins[0], caller: "ws" });
      });
    }
    for (const [post, last] of ["a", "b"].entries()) {
      expect(got.map((posts) => packr.unpack(posts[post]!))).toEqual(joins.map(() => ({ from: "m0", text: "y".repeat(4095) + last })));
      // One transcoding, handed to every member.
      expect(new Set(got.map((posts) => posts[post])).size).toBe(1);
    }
  });
});
