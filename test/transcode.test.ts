import { pack, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { Format } from "../src/abi.js";
import type { BusError } from "../src/errors.js";
import { guestApp } from "./helpers.js";

// Transcoding at the edge (docs/abi.md, "Formats"): a caller whose format differs from the
// topic's gets the request transcoded into the topic's and the reply back into its own. What goes
// wrong there is told apart: the caller's bytes, or the module's.

const asMsgpack = (body: unknown): RequestInit => ({ headers: { "content-type": "application/msgpack" }, body: pack(body) });

describe("a reply the host cannot transcode is the module's failure", () => {
  it("ticks.count past 9 replies bytes that are not JSON: a msgpack caller gets 500 SerializationFailed naming the module's reply", async () => {
    const { call } = guestApp();
    // ticks answers its count as one JSON digit: "1" .. "9", then ":" (48 + 10), not JSON.
    for (let n = 1; n <= 9; n++) {
      const res = await call("ticks", "count", undefined, asMsgpack({}));
      expect(res.status).toBe(200);
      expect(unpack(new Uint8Array(await res.arrayBuffer()))).toBe(n);
    }
    const res = await call("ticks", "count", undefined, asMsgpack({}));
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: string; codeName: string; module: string };
    expect(body).toMatchObject({ codeName: "SerializationFailed", module: "ticks", topic: "count" });
    expect(body.error).toMatch(/^the reply of module ticks to count cannot be transcoded into msgpack for its caller: malformed json payload: /);
  });
});

describe("a request transcoded past the module's requestBytes is refused where it grows", () => {
  it("1,040,000 bytes of msgpack bin, within the limit on the wire, is 413 LimitExceeded as JSON (4 bytes a byte), and never reaches the guest", async () => {
    const { call } = guestApp();
    const body = pack({ data: new Uint8Array(1_040_000).fill(255) });
    expect(body.length).toBeLessThan(1_048_576); // ticks' requestBytes, the default
    const res = await call("ticks", "count", undefined, { headers: { "content-type": "application/msgpack" }, body });
    expect(res.status).toBe(413);
    const error = (await res.json()) as { error: string; codeName: string };
    expect(error.codeName).toBe("LimitExceeded");
    expect(error.error).toMatch(/^request of 1040\d{3} bytes of msgpack is \d+ bytes once transcoded into json for topic count, over module ticks's limit of 1048576 \(limits\.requestBytes\)$/);
    // ticks counts the calls its instance served: the refused one is not among them.
    expect(await (await call("ticks", "count")).text()).toBe("1");
    // The same request as JSON is refused at the edge, as it always was.
    expect((await call("ticks", "count", { data: Array.from({ length: 1_040_000 }, () => 255) })).status).toBe(413);
  });
});

describe("a request the host cannot transcode into its topic's format is the caller's fault", () => {
  // kv-probe's os topic is msgpack; its schema checks topic, format and payload, and lets other
  // fields pass (serde ignores them). What a JSON caller puts there must still become msgpack.
  const os = (junk: string) => `{"topic":"kv.get","format":1,"payload":[],"junk":${junk}}`;

  it.each([
    ["an integer past 64 bits", "123456789012345678901234567890", /the integer 123456789012345678901234567890 is past 64 bits, which a msgpack integer cannot hold/],
    ["a lone surrogate (msgpack strings are UTF-8)", '"\\ud800"', /a string holds a lone surrogate/],
  ])("JSON %s, for a msgpack topic: 400 BadRequest naming the request, not the host's 500", async (_what, junk, why) => {
    const { call } = guestApp();
    const res = await call("kv-probe", "os", os(junk));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; codeName: string };
    expect(body).toMatchObject({ codeName: "BadRequest", module: "kv-probe", topic: "os" });
    expect(body.error).toMatch(/^request of \d+ bytes of json cannot be transcoded into msgpack for topic os: cannot encode as msgpack: /);
    expect(body.error).toMatch(why);
    // The runtime is unharmed: the next call goes through.
    expect((await call("hello", "greet", { name: "Ada" })).status).toBe(200);
  });

  it("JSON nested 10,000 deep is refused as it is read (past 512 levels), not as the writer's stack runs out", async () => {
    const { call } = guestApp();
    const res = await call("kv-probe", "os", os("[".repeat(10_000) + "]".repeat(10_000)));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ codeName: "DeserializationFailed", module: "kv-probe", topic: "os", error: "json payload nested deeper than 512 levels of maps and arrays, the bus's limit" });
    expect((await call("hello", "greet", { name: "Ada" })).status).toBe(200);
  });
});

describe("a msgpack request's container budget is the serving module's limits.requestBytes (an array 2 bytes of it)", () => {
  it("600,000 empty arrays are refused by hello (1 MiB: 524,288) as they are read, and served by abi (8 MiB: 4,194,304)", async () => {
    const { runtime } = guestApp();
    const n = 600_000;
    const data = new Uint8Array(5 + n).fill(0x90);
    data.set([0xdd, 0, n >> 16, (n >> 8) & 0xff, n & 0xff]);
    const request = { format: Format.Msgpack, data };
    // runtime.request: no edge before it, the runtime's own transcoding into the topic's JSON
    const refused = await runtime.request("hello", "greet", request).then(
      () => undefined,
      (err: BusError) => err,
    );
    expect(refused).toMatchObject({ codeName: "DeserializationFailed" });
    expect(refused!.message).toBe("msgpack payload over its container budget: its maps and bins (3 bytes each) and arrays (2) would take more than the limit of 1048576 bytes as the densest JSON ([] is 2 bytes, ,{} 3)");
    // abi's ok echoes its request, transcoded into JSON (1.2 MB, within its 8 MiB) and back
    const reply = await runtime.request("abi", "ok", request);
    expect(reply.format).toBe(Format.Msgpack);
    expect((unpack(reply.data) as unknown[]).length).toBe(n);
  });
});
