import { FORMAT_NAMES, type FormatName } from "./abi.js";
import { checkSchema, type TopicSpec } from "./codec/schema.js";
import defaults from "./limits.json";

/** What `modules/<name>/module.json` declares, with every default filled in. */
export interface Manifest {
  name: string;
  description: string;
  topics: Record<string, TopicSpec>;
  /** Hosts the module may reach through `http.fetch`: "*" , "example.com", "*.example.com", "127.0.0.1:8080". */
  fetch: { allow: string[] };
  limits: Limits;
  /**
   * How plain calls (POST /call, calls from other modules) find an instance:
   * - "pooled" (default): an idle instance from a small pool, or a new one; one call at a time
   *   per instance, so a trap harms only its own call, but globals outlive a call;
   * - "fresh": a new instance for every call: nothing outlives a call;
   * - "shared": one instance takes every call, concurrently (for I/O-bound servers that hold
   *   many waiting calls); a trap fails the calls in flight on it, and the next call gets a new one.
   */
  instances: Instances;
}

export type Instances = "pooled" | "fresh" | "shared";
const INSTANCES: readonly Instances[] = ["pooled", "fresh", "shared"];

/**
 * What one module may use. Every queue and table a guest or its callers can grow has a bound
 * here, checked where the growth happens. The defaults are in ./limits.json, which the build
 * reads too (it writes `memoryPages` into each binary as its memory's maximum).
 */
export interface Limits {
  /** Largest linear memory, in 64 KiB pages: the binary's declared maximum, so `memory.grow` fails past it. */
  memoryPages: number;
  /** Largest request: an HTTP body, a WebSocket call's payload, a guest's call. */
  requestBytes: number;
  responseBytes: number;
  /** Wall-clock budget of one call into the module, sub-calls and waiting for an instance included. */
  callTimeoutMs: number;
  /** Loop iterations, repeating calls and import calls (100 units each) per entry into the guest, where the module was built with fuel metering (docs/host.md). */
  fuel: number;
  /** Calls the module may have in flight at once. */
  maxCalls: number;
  /** Log bytes each entry into an instance may write (renewed with its fuel) before its lines are dropped. */
  logBytes: number;
  /**
   * Live handles one instance may hold (calls either way, callbacks, reserved handles). Of a
   * session's or process's instance, one WebSocket client holds at most a sixteenth in live
   * calls, and one caller by Workers RPC a quarter (src/call-shares.ts).
   */
  maxHandles: number;
  /** Instances of the module one isolate holds at once for plain calls; more calls wait for one. */
  maxInstances: number;
  /** Plain calls that may wait for an instance; past it a call is refused with Busy (503). */
  maxWaiting: number;
  /** Bytes written to a process's stdin and not yet read. */
  stdinBytes: number;
  /** Bytes a WebSocket client may leave unread before callbacks to it are refused (LimitExceeded). */
  socketBufferBytes: number;
  /** Longest key in the module's key-value store (kv.*), in bytes of UTF-8. */
  kvKeyBytes: number;
  /** Largest value in the module's key-value store. */
  kvValueBytes: number;
  /** Keys the module's store may hold (in each store: a process's or session's own, or the module's store object). */
  kvKeys: number;
  /** Bytes of keys and values together the module's store may hold. */
  kvBytes: number;
}

export const DEFAULT_LIMITS: Limits = defaults;

/**
 * The most `requestBytes` and `responseBytes` may be: 16 MiB. A process's or session's call
 * crosses Workers RPC to its Durable Object, and RPC refuses a value over 32 MiB with an error
 * that names no limit (a 40 MiB reply failed as "Serialized RPC arguments or return values are
 * limited to 32MiB"). Half of that leaves room for the envelope, and keeps the copies one call
 * holds at once (the guest's, the transcoded one, the RPC one, the caller's) within a Worker's
 * 128 MB; it is also MAX_QUEUED_BYTES (src/call.ts), so one callback at the limit still fits the
 * queue of callbacks on their way.
 */
export const MAX_PAYLOAD_BYTES = 16 << 20;

/**
 * The most each limit may be, and what stops it there: past it the limit would bound nothing,
 * since the platform or the runtime's own structure fails first (an isolate killed at 128 MB, an
 * RPC or a SQLite row refused, a timer that fires at once), and a module.json that says 1e15
 * would read as a limit and hold nothing. `why` and `shown` complete "limit K is V, over <why>, <most> (<shown>)".
 */
export const LIMIT_MAXIMA: Readonly<Record<keyof Limits, { most: number; why: string; shown?: string }>> = {
  // A Worker's isolate has 128 MB for everything: a guest memory declared larger is never a
  // bound (the isolate dies before memory.grow fails), where at the limit the guest sees -1.
  memoryPages: { most: 2048, why: "the pages a Worker's 128 MB can hold", shown: "128 MiB" },
  requestBytes: { most: MAX_PAYLOAD_BYTES, why: "the most a call can carry across objects", shown: "16 MiB" },
  responseBytes: { most: MAX_PAYLOAD_BYTES, why: "the most a call can carry across objects", shown: "16 MiB" },
  // The call's timer is a setTimeout, whose delay is a signed 32-bit count of ms: under Node (the
  // runtime's unit tests and benchmarks run it there) a longer one fires after 1 ms
  // (TimeoutOverflowWarning), failing every call with Timeout; workerd waits, but one bound for both.
  callTimeoutMs: { most: 2 ** 31 - 1, why: "the longest a timer waits", shown: "ms: 24.8 days" },
  // The meter is an i64 global set from this number (BigInt(limits.fuel)): past 2^53 the JSON
  // number is no longer the integer written. Workers' CPU limit (5 min at most) stops a guest long before.
  fuel: { most: Number.MAX_SAFE_INTEGER, why: "the largest integer a JSON number holds exactly" },
  // Each call in flight holds a handle: more calls than handles can never be in flight.
  maxCalls: { most: 1 << 20, why: "the most handles an instance may hold", shown: "each call in flight holds one" },
  // Every live handle holds an entry in the instance's table (an object and a Map slot, some 50
  // bytes for the lightest, a reserved one): 2^20 of them are about 50 MB of the isolate's 128 MB.
  maxHandles: { most: 1 << 20, why: "the handles an isolate's 128 MB can hold beside its instances" },
  // Nothing is held for a log line (it goes to console.log at once): the budget bounds what one
  // entry into an instance sends to the account's logs. An entry runs inside one invocation, of
  // which Workers Logs records at most 256 KB; `wrangler tail` and local logs see more, up to
  // 64 times that. One line is cut at LOG_LINE_UNITS whatever the budget: a process's object keeps
  // each line as a SQLite row, which a deployed Durable Object holds to 2 MB (SQLITE_ROW_BYTES).
  logBytes: { most: 16 << 20, why: "64 times what Workers Logs records of one invocation (256 KB), inside which an entry runs", shown: "16 MiB" },
  // Each instance holds its memory, at least one 64 KiB page: more than 2048 of them cannot fit
  // in the isolate's 128 MB, so the pool's bound would never be reached before the isolate died.
  maxInstances: { most: 2048, why: "the instances of one 64 KiB page a Worker's 128 MB can hold" },
  // A waiting call holds its request and its call's state in the isolate: docs/performance.md
  // measured 16,734 sleeping calls (a heavier state: a suspended guest call) fitting in 128 MB.
  maxWaiting: { most: 16384, why: "the calls an isolate was measured to hold at once" },
  // A spawn's stdin crosses Workers RPC to the process's object whole (POST /processes, process.spawn),
  // and what is unread is held in the object's memory.
  stdinBytes: { most: MAX_PAYLOAD_BYTES, why: "the most a call can carry across objects", shown: "16 MiB" },
  // What a client leaves unread is held in its object's memory (128 MB for the instance, its
  // queues and every client): the share a call's payload and the queue of callbacks get (MAX_QUEUED_BYTES).
  socketBufferBytes: { most: MAX_PAYLOAD_BYTES, why: "the most one object holds for a queue", shown: "16 MiB" },
  // A list page is at most LIST_MAX (1,000) keys; at 2 KiB each, escaped in JSON at up to 6 bytes a
  // byte (\u0001), it is 12.3 MB, within a reply's MAX_PAYLOAD_BYTES.
  kvKeyBytes: { most: 2048, why: "the longest key a page of 1000 keys fits a reply with" },
  // A key and its value are one row of the object's SQLite, which a deployed Durable Object holds
  // to 2 MB (SQLITE_ROW_BYTES; local workerd takes more, so only this bound holds it in tests): 1 MiB
  // (as durable-objects/snapshots.ts's CHUNK_BYTES) leaves room for the key, the module and the version.
  kvValueBytes: { most: 1 << 20, why: "the most one SQLite row of a deployed Durable Object (2 MB) holds with its key", shown: "1 MiB" },
  // Each key is a row with bytes kvBytes does not count (its module, its version, its B-tree
  // cell: some 100 bytes): 10 million rows are 1 GB beyond the bytes kvBytes counts, as much again
  // as kvBytes' most.
  kvKeys: { most: 10_000_000, why: "the rows an object's 10 GB of SQLite holds beside the bytes" },
  // A Durable Object's SQLite holds at most 10 GB, and one object holds the stores of every module
  // that runs in it (a process's, its children's) beside its snapshots and output: a tenth each.
  kvBytes: { most: 1 << 30, why: "a tenth of the 10 GB a Durable Object's SQLite holds", shown: "1 GiB" },
};

/** module.json's keys: the Worker's, and the build's (`target`, `source`, `metering`). */
const MANIFEST_KEYS = ["description", "topics", "fetch", "limits", "instances", "target", "source", "metering"];
const TOPIC_KEYS = ["format", "accepts", "request", "response", "callbacks", "description"] satisfies (keyof TopicSpec)[];
const FETCH_KEYS = ["allow"];

/** A misspelt key would be ignored, and what it meant to say with it (`limit` for `limits`). */
function knownKeys(object: object, keys: readonly string[], where: string): void {
  for (const key of Object.keys(object)) {
    if (!keys.includes(key)) throw new Error(`${where}: unknown key "${key}" (one of ${keys.join(", ")})`);
  }
}

/** Validates a manifest as read from JSON; throws naming the field at fault. */
export function parseManifest(name: string, raw: unknown): Manifest {
  if (!raw || typeof raw !== "object") throw new Error(`module ${name}: manifest is not an object`);
  const m = raw as Record<string, unknown>;
  knownKeys(m, MANIFEST_KEYS, `module ${name}`);
  // Names come from the manifest: a null-prototype object, so "constructor" or "__proto__" are just names.
  const topics: Record<string, TopicSpec> = Object.create(null);
  for (const [topic, spec] of Object.entries((m.topics ?? {}) as Record<string, unknown>)) {
    const s = (typeof spec === "string" ? { format: spec } : spec) as Record<string, unknown>;
    if (s && typeof s === "object") knownKeys(s, TOPIC_KEYS, `module ${name}: topic ${topic}`);
    const format = (s.format ?? "json") as FormatName;
    if (!FORMAT_NAMES.includes(format)) throw new Error(`module ${name}: topic ${topic}: unknown format "${format}"`);
    if (s.request !== undefined) checkSchema(s.request, `module ${name}: topic ${topic}: request`);
    if (s.response !== undefined) checkSchema(s.response, `module ${name}: topic ${topic}: response`);
    if (s.callbacks !== undefined) {
      if (!s.callbacks || typeof s.callbacks !== "object" || Array.isArray(s.callbacks)) throw new Error(`module ${name}: topic ${topic}: callbacks must be an object of callback names and their types`);
      for (const [callback, schema] of Object.entries(s.callbacks)) checkSchema(schema, `module ${name}: topic ${topic}: callbacks.${callback}`);
    }
    topics[topic] = { ...(s as object), format } as TopicSpec;
  }
  const fetch = (m.fetch ?? {}) as { allow?: unknown };
  if (fetch && typeof fetch === "object") knownKeys(fetch, FETCH_KEYS, `module ${name}: fetch`);
  const allow = fetch.allow ?? [];
  if (!Array.isArray(allow) || !allow.every((h) => typeof h === "string")) {
    throw new Error(`module ${name}: fetch.allow must be a list of host patterns`);
  }
  const limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries((m.limits ?? {}) as Record<string, unknown>)) {
    if (!Object.hasOwn(limits, key)) throw new Error(`module ${name}: unknown limit "${key}"`);
    // An integer: a count, bytes, ms, pages (fuel 1.5 failed every instance, BigInt(1.5) throws).
    if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) throw new Error(`module ${name}: limit ${key} must be a positive integer`);
    const { most, why, shown } = LIMIT_MAXIMA[key as keyof Limits];
    if (value > most) throw new Error(`module ${name}: limit ${key} is ${value}, over ${why}, ${most}${shown ? ` (${shown})` : ""}`);
    limits[key as keyof Limits] = value;
  }
  const instances = (m.instances ?? "pooled") as Instances;
  if (!INSTANCES.includes(instances)) throw new Error(`module ${name}: instances must be one of ${INSTANCES.join(", ")}`);
  return { name, description: String(m.description ?? ""), topics, fetch: { allow }, limits, instances };
}

/** Whether a URL's host is on the allow list. */
export function hostAllowed(allow: readonly string[], url: URL): boolean {
  const host = url.hostname.toLowerCase();
  const withPort = url.port ? `${host}:${url.port}` : host;
  return allow.some((pattern) => {
    const p = pattern.toLowerCase();
    if (p === "*") return true;
    if (p.startsWith("*.")) return host.endsWith(p.slice(1));
    return p === host || p === withPort;
  });
}
