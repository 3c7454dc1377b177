import { describe, expect, inject, it } from "vitest";
import { Code, type CodeName, codeName, Format, type FormatValue, OS_WAPM } from "../src/abi.js";
import { BusCall, type CallSink } from "../src/call.js";
import { decode, encode } from "../src/codec/index.js";
import { parseManifest } from "../src/manifest.js";
import { http } from "../src/services/http/index.js";
import { modules as testGuests } from "../build/test-registry.js";
import { caseUrl, type FetchCase, fetchCase, fetchProblem, type FetchReply, SLOW_BYTES_PER_MS } from "./fuzz/fetch-cases.js";
import { Rng } from "./fuzz/rng.js";
import { guestApp } from "./helpers.js";

/**
 * The http.fetch fuzzer: seeded requests (test/fuzz/fetch-cases.ts) past the allow list, as
 * module fetch-probe (fetch.allow 127.0.0.1, limits.responseBytes 4096, callTimeoutMs 1000) makes them through the
 * runtime, to a real host in Node (test/setup/hostile-http.ts) that answers with bodies at and
 * past the limit, slow, chunked, gzipped or dropped before their end, odd status codes, many and
 * large headers, redirects, and bodies that never end (fast, or slow: those through fetch-probe
 * itself, so that its limits.callTimeoutMs bounds the call); each answer held to what
 * docs/host.md promises, and the host's connection closed once a never-ending body is answered.
 * CI: seed 20261203, 120 requests. Another: `npm run fuzz -- --fetch --seed N --actions M`.
 */
declare global {
  interface ImportMeta {
    glob<T>(pattern: string, options: { eager: true; import: "default" }): Record<string, T>;
  }
}
// workerd sees no environment variables: `npm run fuzz -- --fetch` writes build/fetch-fuzz.json.
const adHoc = Object.values(import.meta.glob<{ seed: number; requests: number }>("../build/fetch-fuzz.json", { eager: true, import: "default" }))[0];
const SEED = adHoc?.seed ?? 20261203;
const REQUESTS = adHoc?.requests ?? 120;
const CALLER = "fetch-probe";
const manifest = parseManifest(CALLER, testGuests[CALLER]!.manifest);
const { responseBytes: LIMIT, callTimeoutMs: TIMEOUT } = manifest.limits;
const HANG_MS = 10_000;
/** How long the host may take to see its connection closed after the answer. */
const CLOSE_MS = 2_000;

const spec = http.topics["http.fetch"]!;
type Answer = { reply: FetchReply } | { code: CodeName; message: string };

/** fetch-probe's os topic (test/guests/kv-probe): it makes the os call named in it as itself. */
const relay = manifest.topics.os!;

/**
 * http.fetch as fetch-probe calls it, in `format`: the reply decoded, or the code it failed with.
 * `through`: a call to fetch-probe's os topic, which makes it, bounded by its callTimeoutMs.
 */
function fetchAs(url: string, format: FormatValue, through = false): Promise<Answer> {
  const { runtime } = guestApp();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer in ${HANG_MS} ms`)), HANG_MS);
    const payload = encode(format, { method: "GET", url, headers: [], body: null }, spec.request);
    const sink: CallSink = {
      finish: (reply) => {
        clearTimeout(timer);
        if (through) {
          const r = decode(reply.format, reply.data, relay.response) as { format: FormatValue; payload: Uint8Array };
          reply = { format: r.format, data: r.payload };
        }
        const r = decode(reply.format, reply.data, spec.response) as FetchReply;
        resolve({ reply: { ...r, status: Number(r.status) } });
      },
      fail: (error) => {
        clearTimeout(timer);
        resolve({ code: codeName(error.code), message: error.message });
      },
      callback: () => Code.MissingCallbacks,
    };
    if (!through) return runtime.dispatch(new BusCall(OS_WAPM, "http.fetch", { format, data: payload }, sink, { caller: CALLER }));
    const data = encode(Format.Msgpack, { topic: "http.fetch", format, payload }, relay.request);
    runtime.dispatch(new BusCall(CALLER, "os", { format: Format.Msgpack, data }, sink));
  });
}

/** Whether the host saw the connection of /hostile/endless?token close within CLOSE_MS. */
async function closes(origin: string, token: string): Promise<boolean> {
  for (const until = Date.now() + CLOSE_MS; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
    if (((await (await fetch(`${origin}/hostile/closed?token=${token}`)).json()) as { closed: boolean }).closed) return true;
  }
  return false;
}

describe(`http.fetch past the allow list against a hostile host (seed ${SEED}, ${REQUESTS} requests)`, () => {
  const origin = inject("httpOrigin");

  it("answers each response as docs/host.md promises: whole within the limit, LimitExceeded past it, never a dropped body as a reply, never a redirect followed, never a body read on after its answer", { timeout: 120_000 }, async () => {
    // A slow endless body sends less than the limit before the call times out: Timeout is its only answer.
    expect(SLOW_BYTES_PER_MS * TIMEOUT).toBeLessThan(LIMIT);
    const rng = new Rng(SEED);
    const tally: Record<string, number> = {};
    const failures: string[] = [];
    const redirects: FetchCase[] = [];
    const thrown: string[] = [];
    const onRejection = (e: PromiseRejectionEvent) => thrown.push(String((e.reason as Error)?.stack ?? e.reason).slice(0, 300));
    addEventListener("unhandledrejection", onRejection);
    for (let i = 0; i < REQUESTS; i++) {
      const c = fetchCase(rng, LIMIT, i);
      const format = rng.pick([Format.Json, Format.Msgpack, Format.Bincode]);
      const url = caseUrl(origin, c);
      const slow = c.kind === "endless" && c.delay > 0;
      const answer = await fetchAs(url, format, slow).catch((err: Error) => ({ code: "Unknown" as CodeName, message: err.message }));
      const problem = fetchProblem(c, LIMIT, answer);
      if (problem) failures.push(`request ${i} (seed ${SEED}): ${url} in format ${format}: ${problem}`);
      if (c.kind === "endless" && !(await closes(origin, c.token))) failures.push(`request ${i} (seed ${SEED}): ${url}: the host's connection was still open ${CLOSE_MS} ms after the answer`);
      // Nothing thrown past the call: a rejection nobody handled is an error the runtime never meant.
      await new Promise((r) => setTimeout(r, 0));
      for (const t of thrown.splice(0)) failures.push(`request ${i} (seed ${SEED}): ${url}: unhandled rejection ${t}`);
      const kind = `${c.kind} ${"code" in answer ? answer.code : "reply"}`;
      tally[kind] = (tally[kind] ?? 0) + 1;
      if (c.kind === "redirect") redirects.push(c);
    }
    removeEventListener("unhandledrejection", onRejection);
    // Nothing followed a redirect, to the allowed host or any other.
    for (const c of redirects) {
      if (c.kind !== "redirect") continue;
      const res = await fetch(`${origin}/hostile/hits?token=${c.token}`);
      if (((await res.json()) as { hit: boolean }).hit) failures.push(`the redirect ${c.code} to ${c.outside ? "another host" : "the same host"} was followed`);
    }
    console.log(`http.fetch fuzz: seed ${SEED}, ${REQUESTS} requests; ${JSON.stringify(Object.fromEntries(Object.entries(tally).sort()))}`);
    expect(failures.slice(0, 20)).toEqual([]);
    for (const kind of ["body reply", "body LimitExceeded", "body FetchFailed", "endless LimitExceeded", "endless Timeout"]) expect(tally[kind], kind).toBeGreaterThan(0);
  });
});
