import { pack } from "msgpackr";
import type { Rng } from "./rng.js";

/**
 * The hostile-HTTP generator (test/http-fuzz.test.ts sends what it makes to the Worker): one
 * seeded request over any route the Worker serves, bar WebSocket upgrades, with odd paths, odd
 * headers and odd bodies. Pure: the same seed makes the same requests, so a failing one reproduces.
 */
export interface HttpCase {
  method: string;
  /** The path and query as given to fetch, before its URL parser normalizes them. */
  path: string;
  headers: [string, string][];
  body?: Uint8Array<ArrayBuffer> | string;
  /**
   * Vars the Worker runs this request under, where the case tries the host rule (ALLOWED_HOSTS,
   * src/http/hosts.ts), the origin rule (ALLOWED_ORIGINS) or the bearer token (BUS_TOKEN).
   */
  vars?: Record<string, string>;
  /** The body as a stream of chunks of this many bytes (no length known), failing after the first where `fails`. */
  stream?: { chunk: number; fails: boolean };
  /** The client gives up after this many milliseconds (0: as soon as it has sent). */
  abortMs?: number;
}

/** What the cases aim at: a process that exists, so its sub-routes get past "no process". */
export interface Targets {
  processId: string;
}

const enc = new TextEncoder();

/** Modules whose calls stay inside the Worker (no network), and their topics. */
const MODULES: Record<string, string[]> = {
  hello: ["greet"],
  "echo-daemon": ["echo"],
  "hello-rs": ["greet"],
  "greeter-rs": ["count", "relay"],
  tally: ["incr", "get"],
  "tally-rs": ["incr", "get"],
  "counter-rs": ["tally.add", "tally.get", "counter.open"],
  relay: ["relay"],
  upcase: [],
  countdown: [],
};
const NAMES = Object.keys(MODULES);

/** A name as a path segment: a real one mostly, else something hostile. */
function segment(rng: Rng, real: readonly string[]): string {
  const name = real.length ? rng.pick(real) : "x";
  switch (rng.weighted({ real: 80, encoded: 2, badEscape: 2, long: 1, unicode: 2, dots: 1, empty: 1, proto: 1, odd: 2, os: 1 })) {
    case "real":
      return name;
    case "encoded":
      // every character escaped, or one: hono decodes them, the call route leaves them to it
      return rng.chance(0.5) ? [...enc.encode(name)].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("") : `${name.slice(0, -1)}%${name.charCodeAt(name.length - 1).toString(16)}`;
    case "badEscape":
      return `${name}${rng.pick(["%", "%z", "%zz", "%C0%AF", "%e0%80", "%ff", "%00", "%2F", "%5C", "%25", "%%", "%2e%2e", "%uD800", "%ED%A0%80"])}`;
    case "long":
      return rng.pick(["a", "é", "%41", name]).repeat(rng.pick([257, 1000, 5000, 20_000]));
    case "unicode":
      return rng.pick(["héllo", "👋", "\u202Ehello", "hel\u0000lo", "\uD800", "ｈｅｌｌｏ", "hello\u200B", "ⓗⓔⓛⓛⓞ", "\uFEFF"]);
    case "dots":
      return rng.pick([".", "..", "...", "%2e", ".%2E", `${name}/..`, `../${name}`]);
    case "empty":
      return "";
    case "proto":
      return rng.pick(["constructor", "__proto__", "prototype", "toString", "hasOwnProperty"]);
    case "odd":
      return rng.pick([`${name}@room-a`, `${name}@`, "@x", ` ${name}`, `${name};x`, `${name}\\x`, `${name}?`, `${name}#`, "*", "a b", "<script>", "'\"", `${name}.`]);
    default:
      return "os";
  }
}

function query(rng: Rng): string {
  if (!rng.chance(0.3)) return "";
  return rng.pick([
    "?",
    "?x=1",
    "?x=1&x=2",
    `?after=${rng.pick(["0", "-1", "1e3", "abc", "99999999999999999999", "", "0x10", " 1", "1.5"])}&limit=${rng.pick(["1", "0", "1001", "x", "", "1000", "%31"])}`,
    "?access_token=abc",
    "?%zz=%zz",
    `?v=${"q".repeat(rng.pick([10, 5000]))}`,
    "?a=/call/hello/greet",
    "?&&&=",
    "#frag",
    "?x=%00",
  ]);
}

/** A path of some route (or of none), made odd, and the method that route takes. */
function path(rng: Rng, targets: Targets): [path: string, method: string] {
  const route = rng.weighted({ call: 40, processes: 22, bus: 8, openapi: 4, console: 4, root: 4, unknown: 5 });
  let p: string;
  let m = "GET";
  switch (route) {
    case "call": {
      const module = rng.pick(NAMES);
      const topics = MODULES[module]!;
      p = `/call/${segment(rng, [module])}/${segment(rng, topics.length ? topics : ["greet"])}`;
      m = "POST";
      break;
    }
    case "processes": {
      const id = rng.weighted({ real: 5, random: 2, odd: 2 }) === "real" ? targets.processId : rng.chance(0.5) ? segment(rng, []) : hex(rng, rng.pick([64, 63, 65, 32]));
      const [sub, method] = rng.pick([["/processes", "POST"], [`/processes/${id}`, rng.pick(["GET", "DELETE"])], [`/processes/${id}/logs`, "GET"], [`/processes/${id}/call/${segment(rng, ["echo", "greet", "x"])}`, "POST"], [`/processes/${id}/attach`, "GET"], [`/processes/${id}/nothing`, "GET"]] as const);
      p = sub;
      m = method;
      break;
    }
    case "bus":
      p = rng.pick([`/bus/${segment(rng, ["chat", "hello"])}`, `/bus/${segment(rng, ["chat"])}/${segment(rng, ["room-a", "x".repeat(64), "x".repeat(65)])}`, "/bus", "/bus/"]);
      break;
    case "openapi":
      p = rng.pick(["/openapi.json", "/openapi.json/", "/OPENAPI.JSON", "/openapi%2Ejson"]);
      break;
    case "console":
      p = rng.pick(["/console", "/console/", "/console/app.js", "/console/app.css", "/console/../modules", "/console/nothing"]);
      break;
    case "root":
      p = rng.pick(["/", "/modules", "//", "/modules/", "/.", "/%2e"]);
      break;
    default:
      p = `/${segment(rng, ["nowhere", "call", "processes", "bus"])}/${segment(rng, ["x"])}`;
  }
  if (rng.chance(0.04)) p = p.replace("/", "//");
  if (rng.chance(0.03)) p += "/";
  return [p + query(rng), m];
}

function hex(rng: Rng, n: number): string {
  let s = "";
  while (s.length < n) s += rng.u32().toString(16).padStart(8, "0");
  return s.slice(0, n);
}

/** The route's own method mostly, else any. */
function method(rng: Rng, own: string): string {
  return rng.chance(0.8) ? own : rng.pick(["POST", "GET", "DELETE", "PUT", "PATCH", "OPTIONS", "HEAD", "post", "patch", "PROPFIND", "QUERY"]);
}

const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "APPLICATION/JSON",
  " application/json ;charset=latin1",
  "application/json;;;",
  'application/json; x="a;b"',
  "application/msgpack",
  "application/x-msgpack",
  "application/vnd.msgpack; q=1",
  "application/octet-stream",
  "application/x-bincode",
  "text/plain",
  "text/html",
  "multipart/form-data; boundary=x",
  "application/x-www-form-urlencoded",
  "",
  ";",
  "application/json, text/plain",
  "constructor",
  "x".repeat(8000),
];

/** JSON for a topic's request, right or wrong in its types. */
function value(rng: Rng): unknown {
  return rng.pick<unknown>([
    { name: "Ada" },
    { name: 5 },
    { name: null },
    { name: "x".repeat(rng.pick([0, 300, 70_000])) },
    {},
    [],
    "Ada",
    null,
    0,
    { start: 1, add: [1, 2] },
    { start: -1, add: [1.5] },
    { start: 2 ** 64, add: [] },
    { by: 1 },
    { by: -1 },
    { by: 4294967296 },
    { n: 3 },
    { module: "countdown", args: ["0"] },
    { module: "countdown", args: [1] },
    { module: "hello" },
    { module: "nobody" },
    { module: "countdown", args: ["0"], env: { "": "x" } },
    { module: "countdown", args: ["0"], env: { A: "a\u0000" } },
    { module: "countdown", args: ["0"], stdin: 5 },
    { module: "countdown", args: ["0"], stdin: "x".repeat(300) },
    { module: ["countdown"] },
    { __proto__: { name: "Ada" } },
    JSON.parse('{"__proto__": {"name": "Ada"}, "constructor": 1}'),
    { name: "Ada", extra: { deep: [1, [2, [3]]] } },
  ]);
}

const JSON_TYPE = "application/json";
const MSGPACK = "application/msgpack";

/** A body, and the content type it is in (a guess, for garbage). */
function body(rng: Rng): [Uint8Array<ArrayBuffer> | string | undefined, string] {
  switch (rng.weighted({ json: 10, none: 2, empty: 2, truncated: 3, nested: 4, huge: 1, msgpack: 3, garbage: 3, textual: 3 })) {
    case "json":
      return [JSON.stringify(value(rng)), JSON_TYPE];
    case "none":
      return [undefined, JSON_TYPE];
    case "empty":
      return ["", rng.pick([JSON_TYPE, MSGPACK])];
    case "truncated": {
      const text = JSON.stringify(value(rng));
      return [text.slice(0, rng.int(text.length)), JSON_TYPE];
    }
    case "nested": {
      const depth = rng.pick([100, 600, 1000, 3000, 10_000, 100_000, 600_000]);
      if (rng.chance(0.4)) {
        // msgpack: fixarrays of one, nil at the bottom
        const deep = new Uint8Array(depth + 1).fill(0x91);
        deep[depth] = 0xc0;
        return [deep, MSGPACK];
      }
      const open = rng.pick(["[", '{"a":', '{"name":[']);
      return [rng.chance(0.5) ? open.repeat(depth) : `${"[".repeat(depth)}${"]".repeat(depth)}`, JSON_TYPE];
    }
    case "huge":
      return [rng.pick([JSON.stringify({ name: "x".repeat((1 << 20) + rng.int(1000)) }), `[${"1,".repeat(600_000)}1]`, `"${"\\u0000".repeat(200_000)}"`]), JSON_TYPE];
    case "msgpack":
      return [new Uint8Array(pack(value(rng))), MSGPACK];
    case "garbage":
      return [rng.bytes(rng.pick([1, 2, 7, 100, 4096])) as Uint8Array<ArrayBuffer>, rng.pick([MSGPACK, "application/x-bincode", "application/octet-stream", JSON_TYPE])];
    default:
      return [rng.pick([
        '{"name":"Ada"} trailing',
        '\uFEFF{"name":"Ada"}',
        '{"name":"\\ud800"}',
        '{"name":"Ada","name":"Bob"}',
        '{"name":NaN}',
        '{"name":"Ada",}',
        "{'name':'Ada'}",
        '{"start":123456789012345678901234567890,"add":[]}',
        '{"start":1e400,"add":[]}',
        '{"start":-0,"add":[-0.0]}',
        `{"name":"${"\\".repeat(3)}"}`,
        new Uint8Array([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]) as Uint8Array<ArrayBuffer>,
        "name=Ada",
        "null",
        " ",
        "\u0000",
      ]), JSON_TYPE];
  }
}

/** One hostile request. */
export function httpCase(rng: Rng, targets: Targets): HttpCase {
  const [p, own] = path(rng, targets);
  const m = method(rng, own);
  const headers: [string, string][] = [];
  // fetch refuses a GET or HEAD with a body.
  const [b, type] = m === "GET" || m === "HEAD" ? [undefined, JSON_TYPE] : body(rng);
  if (rng.chance(0.85)) headers.push(["content-type", rng.chance(0.6) ? type : rng.pick(CONTENT_TYPES)]);
  if (rng.chance(0.3)) headers.push(["accept", rng.pick(["application/json", "application/x-ndjson", "application/x-ndjson;q=0", "application/x-ndjson; q=0.5, */*", "*/*", "text/html", "garbage;;;q=x", ""])]);
  if (rng.chance(0.08)) headers.push(["origin", rng.pick(["http://bus.test", "https://evil.example", "null", "http://bus.test:80", "", "HTTPS://EVIL.EXAMPLE"])]);
  if (rng.chance(0.03)) headers.push(["access-control-request-method", rng.pick(["POST", "GET", "PUT", ""])]);
  if (rng.chance(0.1)) headers.push(["authorization", rng.pick(["Bearer x", "Bearer", "Basic abc", "x".repeat(10_000)])]);
  if (rng.chance(0.05)) headers.push(["sec-websocket-protocol", "wasm-bus, wasm-bus.bearer.zz"]);
  const length = b === undefined ? 0 : typeof b === "string" ? enc.encode(b).length : b.length;
  if (b !== undefined && rng.chance(0.1)) {
    headers.push(["content-length", rng.pick([String(length), "0", "1", String(length + 1), String(Math.max(0, length - 1)), "99999999999", "-1", "abc", "1e3", ""])]);
  }
  let vars: Record<string, string> | undefined;
  if (rng.chance(0.15)) {
    vars = {};
    if (rng.chance(0.6)) vars.ALLOWED_HOSTS = rng.pick(["localhost, *.localhost", "*", "bus.test", "", " , ,"]);
    if (rng.chance(0.4)) vars.ALLOWED_ORIGINS = rng.pick(["*", "https://evil.example", "http://bus.test/", "null", ","]);
    if (rng.chance(0.4)) {
      vars.BUS_TOKEN = "s3cret";
      if (rng.chance(0.6)) headers.push(["authorization", rng.pick(["Bearer s3cret", "bearer   s3cret  ", "Bearer s3cret2", "Bearer s3cre"])]);
    }
  }
  if (vars?.ALLOWED_HOSTS !== undefined || rng.chance(0.05)) {
    headers.push(["host", rng.pick(["localhost", "localhost:8787", "LOCALHOST", "app.localhost", "evil.example", "127.0.0.1:1", "[::1]", "[::1", "", "a b", "bus.test", "x".repeat(300), "localhost.", "xn--nxasmq6b", "0x7f.1", "localhost:99999"])]);
  }
  // Chunks of a byte or a hundred only for small bodies: a megabyte a byte a chunk takes a minute to pump.
  const stream = b !== undefined && rng.chance(0.1) ? { chunk: rng.pick(length > 16_384 ? [4096, 65536] : [1, 100, 4096, 65536]), fails: rng.chance(0.4) } : undefined;
  const abortMs = rng.chance(0.05) ? rng.pick([0, 1, 5, 20]) : undefined;
  return { method: m, path: p, headers, body: b, vars, stream, abortMs };
}

/** A case as one line for a failure message: enough to see it, never megabytes. */
export function describeCase(c: HttpCase): string {
  const cut = (s: string) => (s.length > 120 ? `${s.slice(0, 120)}… (${s.length})` : s);
  const b = c.body === undefined ? "no body" : typeof c.body === "string" ? `body ${JSON.stringify(cut(c.body))}` : `body bytes[${c.body.length}] ${[...c.body.slice(0, 16)].join(",")}`;
  const how = `${c.stream ? ` streamed in ${c.stream.chunk}-byte chunks${c.stream.fails ? ", failing after the first" : ""}` : ""}${c.abortMs !== undefined ? `, aborted after ${c.abortMs} ms` : ""}`;
  return `${c.method} ${JSON.stringify(cut(c.path))} headers ${JSON.stringify(c.headers.map(([k, v]) => [k, cut(v)]))} ${b}${c.vars ? ` vars ${JSON.stringify(c.vars)}` : ""}${how}`;
}
