import type { CodeName } from "../../src/abi.js";
import type { Rng } from "./rng.js";

/**
 * The http.fetch fuzzer's cases: what the hostile host (test/setup/hostile-http.ts) answers,
 * and what docs/host.md promises the caller then. A body within limits.responseBytes comes whole
 * with its status; one past it is LimitExceeded naming the limit; one the host drops before its
 * end is refused, never a reply (a partial body passed as the whole); a redirect is answered as
 * it came, never followed (its target may be a host fetch.allow does not name). A body that never
 * ends is LimitExceeded once past the limit where it comes fast, and Timeout where it comes too
 * slowly to pass it within the caller's limits.callTimeoutMs; either way the host's connection
 * is closed after, not held open by a read nobody waits for.
 */
export type FetchCase =
  | { kind: "body"; n: number; chunk: number; delay: number; length: "exact" | "none" | "short" | "cut"; gzip: boolean }
  | { kind: "status"; code: number }
  | { kind: "headers"; count: number; size: number }
  | { kind: "redirect"; code: number; outside: boolean; token: string }
  | { kind: "endless"; chunk: number; delay: number; token: string };

/**
 * The most bytes a ms a slow endless body sends (a chunk of at most 16 bytes every 20 ms or more):
 * so slow that a read that went on after its call's end would not reach the limit for seconds.
 */
export const SLOW_BYTES_PER_MS = 16 / 20;

export function fetchCase(rng: Rng, limit: number, index: number): FetchCase {
  switch (rng.weighted({ body: 55, status: 15, headers: 15, redirect: 15, endless: 5 })) {
    case "body": {
      const n = rng.pick([0, 1, rng.int(limit), limit - 1, limit, limit, limit + 1, limit + 1, 2 * limit, 2 * limit + 1, 3 * limit, 64 * limit]);
      const chunk = rng.pick([1, 7, 512, limit, limit + 1, n || 1]);
      // Slow only where there are few chunks: a run takes seconds, not minutes.
      const delay = Math.ceil(n / chunk) <= 20 ? rng.pick([0, 0, 5, 30]) : 0;
      return { kind: "body", n, chunk, delay, length: rng.pick(["exact", "exact", "none", "none", "short", "cut"]), gzip: rng.chance(0.25) };
    }
    case "status":
      return { kind: "status", code: rng.pick([0, 99, 100, 101, 103, 199, 200, 201, 202, 203, 206, 226, 299, 300, 399, 400, 404, 418, 451, 499, 500, 502, 599, 600, 700, 999, 1000, 65535, 65536]) };
    case "headers":
      return { kind: "headers", count: rng.pick([0, 1, 64, 500]), size: rng.pick([0, 1, 100, 2000]) };
    case "endless": {
      const token = `e${index}-${rng.u32()}`;
      if (rng.chance(0.5)) return { kind: "endless", chunk: rng.pick([512, limit, limit + 1, 16 * limit]), delay: 0, token };
      return { kind: "endless", chunk: rng.pick([1, 7, 16]), delay: rng.pick([20, 50]), token };
    }
    default:
      return { kind: "redirect", code: rng.pick([301, 302, 303, 307, 308, 300, 399]), outside: rng.chance(0.5), token: `r${index}-${rng.u32()}` };
  }
}

export function caseUrl(origin: string, c: FetchCase): string {
  switch (c.kind) {
    case "body":
      return `${origin}/hostile/body?n=${c.n}&chunk=${c.chunk}&delay=${c.delay}&length=${c.length}&gzip=${c.gzip ? 1 : 0}`;
    case "status":
      return `${origin}/hostile/status?code=${c.code}`;
    case "headers":
      return `${origin}/hostile/headers?count=${c.count}&size=${c.size}`;
    case "endless":
      return `${origin}/hostile/endless?chunk=${c.chunk}&delay=${c.delay}&token=${c.token}`;
    case "redirect": {
      const hit = `/hostile/hit?token=${c.token}`;
      return `${origin}/hostile/redirect?code=${c.code}&to=${encodeURIComponent(c.outside ? `http://outside.invalid${hit}` : `${origin}${hit}`)}`;
    }
  }
}

/** The bytes /hostile/body sends (before any gzip). */
export function bodyOf(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => i % 251);
}

export interface FetchReply {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

/** What is wrong with an answer to `c`, or nothing. `limit` is the caller's responseBytes. */
export function fetchProblem(c: FetchCase, limit: number, answer: { reply: FetchReply } | { code: CodeName; message: string }): string | undefined {
  const refused = "code" in answer ? answer : undefined;
  const reply = "reply" in answer ? answer.reply : undefined;
  if (c.kind === "endless") {
    const want = c.delay ? "Timeout" : "LimitExceeded";
    if (reply) return `a reply (status ${reply.status}, ${reply.body.length} bytes) to a body that never ends`;
    if (refused!.code !== want) return `a body that never ends, ${c.delay ? "slow" : "fast"}, refused with ${refused!.code}, not ${want}: ${refused!.message}`;
  } else if (refused && !["FetchFailed", "LimitExceeded"].includes(refused.code)) return `refused with ${refused.code}, which is no answer to a host's response: ${refused.message}`;
  if (refused?.code === "LimitExceeded" && !refused.message.includes(String(limit))) return `a LimitExceeded that names no limit: ${refused.message}`;
  switch (c.kind) {
    case "body": {
      // short and cut send half the bytes: all of none (n 0, not gzipped) is the whole body.
      const whole = c.length === "exact" || c.length === "none" || (c.n === 0 && !c.gzip);
      // What the host declared or sent past the limit: LimitExceeded is right, and so (dropped
      // before the end) is FetchFailed; within it, a dropped body is FetchFailed.
      const over = c.n > limit && (whole || c.length === "short" || (c.n >> 1) > limit || c.gzip);
      if (whole && !over) {
        if (!reply) return `a whole body of ${c.n} bytes within the limit was refused: ${refused!.code}: ${refused!.message}`;
        if (reply.status !== 200) return `status ${reply.status}, not 200`;
        const want = bodyOf(c.n);
        if (reply.body.length !== want.length || reply.body.some((b, i) => b !== want[i])) return `a body of ${reply.body.length} bytes that is not the ${c.n} sent`;
        return undefined;
      }
      if (reply) return `a reply (status ${reply.status}, ${reply.body.length} bytes) where the body was ${whole ? `${c.n} bytes, over the limit` : `dropped after ${c.n >> 1} of ${c.n} bytes`}`;
      if (over) return undefined;
      return refused!.code === "FetchFailed" ? undefined : `a dropped body within the limit refused with ${refused!.code}, not FetchFailed`;
    }
    case "status":
      // A status fetch cannot read is FetchFailed; any other comes as it is.
      if (refused) return refused.code === "FetchFailed" ? undefined : `status ${c.code} refused with ${refused.code}`;
      return reply!.status === c.code ? undefined : `status ${reply!.status}, not the ${c.code} sent`;
    case "headers": {
      // Past the limit as the reply carries them (names and values: 'x-h-<i>' and the value), LimitExceeded.
      let bytes = 0;
      for (let i = 0; i < c.count; i++) bytes += `x-h-${i}`.length + c.size;
      if (bytes > limit) {
        if (reply) return `${c.count} headers of ${c.size} bytes (${bytes} in all) passed a limit of ${limit}`;
        return refused!.code === "LimitExceeded" || refused!.code === "FetchFailed" ? undefined : `${bytes} bytes of headers refused with ${refused!.code}`;
      }
      if (refused) return refused.code === "FetchFailed" ? undefined : `${c.count} headers of ${c.size} bytes refused with ${refused.code}`;
      for (let i = 0; i < c.count; i++) {
        const h = reply!.headers.find(([k]) => k === `x-h-${i}`);
        if (!h || h[1] !== "v".repeat(c.size)) return `header x-h-${i} ${h ? `has ${h[1].length} bytes, not ${c.size}` : "is missing"}`;
      }
      return undefined;
    }
    case "endless":
      return undefined;
    case "redirect":
      if (refused) return `a redirect refused with ${refused.code}: ${refused.message}`;
      if (reply!.status !== c.code) return `status ${reply!.status}: the redirect (${c.code}) was followed`;
      if (!reply!.headers.some(([k]) => k === "location")) return "the redirect's location is gone";
      return undefined;
  }
}
