import { describe, expect, it } from "vitest";
import { type CodeName, Format } from "../../src/abi.js";
import { BusError } from "../../src/errors.js";
import { Runtime } from "../../src/runtime.js";
import { fuel } from "./wat.js";

const enc = new TextEncoder();

/**
 * Requests to the built-in services framed right but not of their topics' types, as a guest's
 * call brings them (json and msgpack decode to whatever the bytes say; only the HTTP edge checked
 * types, so a guest's call reached the service unchecked). Found by the ABI fuzzer's hostile
 * service requests (test/fuzz/service-payloads.ts).
 */
async function codeOf(topic: string, json: string): Promise<CodeName | "Success"> {
  const runtime = new Runtime({}, { fuel: fuel(), log: () => {} });
  const drop = new AbortController();
  try {
    const call = runtime.request("os", topic, { format: Format.Json, data: enc.encode(json) }, { signal: drop.signal });
    // A sleep that was taken sleeps on: what matters is that it was not refused.
    const settled = await Promise.race([call.then(() => "Success" as const), new Promise<"asleep">((resolve) => setTimeout(() => resolve("asleep"), 20))]);
    return settled === "asleep" ? "Success" : settled;
  } catch (err) {
    return (err as BusError).codeName;
  } finally {
    drop.abort("the test is over");
  }
}

describe("built-in services refuse a request not of the topic's types with BadRequest", () => {
  it.each([
    ["log.write", '{"level":-1,"message":"m"}'],
    ["log.write", '{"level":256,"message":"m"}'],
    ["log.write", '{"level":1.5,"message":"m"}'],
    ["log.write", '{"level":1,"message":5}'],
    ["log.write", '{"level":"1","message":"m"}'],
    ["time.sleep", '{"duration_ms":"5"}'],
    ["time.sleep", '{"duration_ms":1.5}'],
    ["time.sleep", '{"duration_ms":null}'],
    ["time.sleep_until", '{"until_ms":[1]}'],
    ["http.fetch", '{"method":"GET","url":"https://example.com/","headers":"x","body":null}'],
    ["http.fetch", '{"method":7,"url":"https://example.com/","headers":[],"body":null}'],
    ["http.fetch", '{"method":"GET","url":5,"headers":[],"body":null}'],
    ["socket_builder.connect", '{"url":5}'],
    ["process.spawn", '{"module":"hello","args":"x","env":{},"stdin":null}'],
  ])("%s %s", async (topic, json) => {
    expect(await codeOf(topic, json)).toBe("BadRequest");
  });

  it("and still takes the same requests typed right", async () => {
    expect(await codeOf("log.write", '{"level":1,"message":"m"}')).toBe("Success");
    expect(await codeOf("time.sleep", '{"duration_ms":5}')).toBe("Success");
    expect(await codeOf("time.now", "{}")).toBe("Success");
    // Past the types, http.fetch checks the caller's allow list: none here (no module calls).
    expect(await codeOf("http.fetch", '{"method":"GET","url":"https://example.com/","headers":[],"body":null}')).toBe("AccessDenied");
  });
});

describe("a service's refusal repeats a guest's URL cut, as the edge cuts a caller's names", () => {
  it.each([
    ["http.fetch", (url: string) => JSON.stringify({ method: "GET", url, headers: [] })],
    ["socket_builder.connect", (url: string) => JSON.stringify({ url })],
  ])("%s", async (topic, body) => {
    const runtime = new Runtime({}, { fuel: fuel(), log: () => {} });
    const url = `not a url ${"x".repeat(100_000)}`;
    const err = (await runtime.request("os", topic, { format: Format.Json, data: enc.encode(body(url)) }).catch((e: unknown) => e)) as BusError;
    expect(err.codeName).toBe("BadRequest");
    expect(err.message).toContain("not a URL: not a url xxx");
    expect(err.message).toContain("(100010 characters)");
    expect(err.message.length).toBeLessThan(1000);
  });
});
