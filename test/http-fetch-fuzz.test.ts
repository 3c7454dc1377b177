import { describe, expect, inject, it } from "vitest";
import { Code, type CodeName, codeName, Format, type FormatValue, OS_WAPM } from "../src/abi.js";
import { BusCall } from "../src/call.js";
import { decode, encode } from "../src/codec/index.js";
import { parseManifest } from "../src/manifest.js";
import { http } from "../src/services/http/index.js";
import { modules as testGuests } from "../build/test-registry.js";
import { caseUrl, type FetchCase, fetchCase, fetchProblem, type FetchReply } from "./fuzz/fetch-cases.js";
import { Rng } from "./fuzz/rng.js";
import { guestApp } from "./helpers.js";

/**
 * The http.fetch fuzzer: seeded requests (test/fuzz/fetch-cases.ts) past the allow list, as
 * module fetch-probe (fetch.allow 127.0.0.1, limits.responseBytes 4096) makes them through the
 * runtime, to a real host in Node (test/setup/hostile-http.ts) that answers with bodies at and
 * past the limit, slow, chunked, gzipped or dropped before their end, odd status codes, many and
 * large headers, and redirects; each answer held to what docs/host.md promises.
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
const LIMIT = parseManifest(CALLER, testGuests[CALLER]!.manifest).limits.responseBytes;
const HANG_MS = 10_000;

const spec = http.topics["http.fetch"]!;
type Answer = { reply: FetchReply } | { code: CodeName; message: string };

/** http.fetch as fetch-probe calls it, in `format`: the reply decoded, or the code it failed with. */
function fetchAs(url: string, format: FormatValue): Promise<Answer> {
  const { runtime } = guestApp();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer in ${HANG_MS} ms`)), HANG_MS);
    const data = encode(format, { method: "GET", url, headers: [], body: null }, spec.request);
    const call = new BusCall(OS_WAPM, "http.fetch", { format, data }, {
      finish: (reply) => {
        clearTimeout(timer);
        const r = decode(reply.format, reply.data, spec.response) as FetchReply;
        resolve({ reply: { ...r, status: Number(r.status) } });
      },
      fail: (error) => {
        clearTimeout(timer);
        resolve({ code: codeName(error.code), message: error.message });
      },
      callback: () => Code.MissingCallbacks,
    }, { caller: CALLER });
    runtime.dispatch(call);
  });
}

describe(`http.fetch past the allow list against a hostile host (seed ${SEED}, ${REQUESTS} requests)`, () => {
  const origin = inject("httpOrigin");

  it("answers each response as docs/host.md promises: whole within the limit, LimitExceeded past it, never a dropped body as a reply, never a redirect followed", { timeout: 120_000 }, async () => {
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
      const answer = await fetchAs(url, format).catch((err: Error) => ({ code: "Unknown" as CodeName, message: err.message }));
      const problem = fetchProblem(c, LIMIT, answer);
      if (problem) failures.push(`request ${i} (seed ${SEED}): ${url} in format ${format}: ${problem}`);
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
    for (const kind of ["body reply", "body LimitExceeded", "body FetchFailed"]) expect(tally[kind], kind).toBeGreaterThan(0);
  });
});
