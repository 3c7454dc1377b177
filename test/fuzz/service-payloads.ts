/**
 * Requests to the built-in services (wapm `os`) that a hostile guest may send: framed right for
 * their format, with wrong or edge values inside (empty and huge keys, lone surrogates, wrong
 * types, negative, fractional, NaN and out-of-range numbers, garbage cursors, versions past u64,
 * URLs that are invalid or of another scheme, headers with CR/LF, thousands of headers, sleeps of
 * any length, spawns of modules that are not there). Each comes with the codes its call may end with: a coded refusal the guest hears,
 * never a host failure (InternalFailure) and never silence.
 *
 * The ABI fuzzer (./abi-fuzzer.ts) sends them through `call` and `call_now`. Its runtime has no
 * key-value storage and its modules no fetch.allow, so kv.* is checked up to its storage
 * (refused Unsupported once the request is well-typed), and http and ws up to the network
 * (AccessDenied for a URL that is fine); test/kv.test.ts and test/http-service.test.ts go further.
 */
import { pack } from "msgpackr";
import { Code, Format } from "../../src/abi.js";
import type { Rng } from "./rng.js";

export interface ServiceRequest {
  topic: string;
  format: number;
  body: Uint8Array;
  note: string;
  /** The codes the call may end with: Success for a reply (or a sleep still asleep), the rest for wasm_bus_error. */
  outcome: number[];
  /** The call needs a parent (a sub-API topic): which it is given decides the outcome (`outcome` is for any other parent). */
  sub?: "socket" | "process";
}

const enc = new TextEncoder();
/** Wrong values in the request's own types: refused while decoding or checking, with these. */
const BAD: number[] = [Code.BadRequest, Code.DeserializationFailed];
const OK: number[] = [Code.Success];

/** JSON text, by hand: lone surrogates (`\ud800`) and numbers JSON.stringify would not write. */
const text = (json: string) => enc.encode(json);
const str = (s: string) => JSON.stringify(s);

/** A string a hostile guest would send where a name or key goes. */
function edgeString(r: Rng): { json: string; plain?: string; note: string } {
  const kind = r.weighted({ word: 4, empty: 2, surrogate: 2, pair: 1, nul: 1, huge: 2, control: 1, bom: 1 });
  switch (kind) {
    case "word":
      return { json: str("k" + r.int(5)), plain: "k", note: "word" };
    case "empty":
      return { json: '""', plain: "", note: "empty" };
    case "surrogate":
      return { json: r.pick(['"\\ud800"', '"a\\udfff"', '"\\udc00\\ud800"']), note: "lone surrogate" };
    case "pair":
      return { json: '"\\ud83d\\ude00"', plain: "😀", note: "surrogate pair" };
    case "nul":
      return { json: '"a\\u0000b"', plain: "a\0b", note: "NUL" };
    case "huge": {
      const s = r.pick(["x", "é", "😀"]).repeat(r.pick([200, 513, 1025, 5000]));
      return { json: str(s), plain: s, note: `${enc.encode(s).length} bytes` };
    }
    case "control":
      return { json: '"a\\r\\nb"', plain: "a\r\nb", note: "CR LF" };
    default:
      return { json: '"\\ufeff\\uffff"', plain: "\ufeff\uffff", note: "BOM" };
  }
}

/** A number where an unsigned integer goes: fine ones, and every way one is not. */
function edgeNumber(r: Rng, bits: number): { json: string; ok: boolean; note: string } {
  const max = 2n ** BigInt(bits) - 1n;
  const kind = r.weighted({ small: 4, max: 2, over: 2, negative: 2, fraction: 2, exponent: 1, string: 1, null: 1, bool: 1, array: 1 });
  switch (kind) {
    case "small":
      return { json: String(r.int(3)), ok: true, note: "small" };
    case "max":
      return { json: String(max), ok: true, note: `2^${bits}-1` };
    case "over":
      return { json: String(max + 1n + BigInt(r.int(3))), ok: false, note: `past 2^${bits}` };
    case "negative":
      return { json: r.pick(["-1", "-0.5", String(-max)]), ok: false, note: "negative" };
    case "fraction":
      return { json: r.pick(["1.5", "0.1"]), ok: false, note: "fraction" };
    case "exponent":
      return { json: r.pick(["1e400", "-1e400"]), ok: false, note: "past a double" };
    case "string":
      return { json: '"5"', ok: false, note: "a string" };
    case "null":
      return { json: "null", ok: false, note: "null" };
    case "bool":
      return { json: "true", ok: false, note: "a bool" };
    default:
      return { json: "[1]", ok: false, note: "an array" };
  }
}

function logWrite(r: Rng): ServiceRequest {
  if (r.chance(0.25)) {
    // msgpack: numbers JSON cannot carry.
    const level = r.pick([NaN, Infinity, -1, 256, 2 ** 40, 1.5]);
    return { topic: "log.write", format: Format.Msgpack, body: pack({ level, message: "m" }), note: `level ${level} (msgpack)`, outcome: BAD };
  }
  const level = edgeNumber(r, 8);
  const message = r.chance(0.2) ? { json: r.pick(["5", "null", "[]", '{"a":1}']), note: "not a string" } : r.chance(0.1) ? { json: str("m".repeat(60000)), plain: "", note: "60000 chars" } : edgeString(r);
  const typed = level.ok && !("note" in message && message.note === "not a string");
  return {
    topic: "log.write",
    format: Format.Json,
    body: text(`{"level":${level.json},"message":${message.json}}`),
    note: `level ${level.note}, message ${message.note}`,
    outcome: typed ? OK : BAD,
  };
}

function sleep(r: Rng): ServiceRequest {
  const topic = r.chance(0.8) ? "time.sleep" : "time.sleep_until";
  const field = topic === "time.sleep" ? "duration_ms" : "until_ms";
  const how = r.weighted({ json: 6, msgpack: 2, bincode: 1 });
  if (how === "msgpack") {
    const v = r.pick([NaN, -Infinity, -1, -(2 ** 60), 0.5, 2 ** 70]);
    // 2^70 comes as a float64 that is a whole number: a u128 it may be taken for.
    return { topic, format: Format.Msgpack, body: pack({ [field]: v }), note: `${field} ${v} (msgpack)`, outcome: v === 2 ** 70 ? [...BAD, Code.Success] : BAD };
  }
  if (how === "bincode") {
    // Any 16 bytes are a u128: a sleep that may outlast the run (the drops at its end wake it).
    return { topic, format: Format.Bincode, body: r.bytes(16), note: `${field} any u128 (bincode)`, outcome: OK };
  }
  const n = edgeNumber(r, 128);
  return { topic, format: Format.Json, body: text(`{"${field}":${n.json}}`), note: `${field} ${n.note}`, outcome: n.ok ? OK : BAD };
}

/** A URL for http.fetch or socket_builder.connect, and whether it gets as far as the allow list (AccessDenied). */
function url(r: Rng, schemes: string[]): { json: string; note: string; reaches: boolean | undefined } {
  const kind = r.weighted({ good: 4, invalid: 3, scheme: 3, surrogate: 1, notString: 1 });
  switch (kind) {
    case "good":
      return { json: str(`${r.pick(schemes)}://example.com/x?y=${r.int(9)}`), note: "allowed scheme", reaches: true };
    case "invalid":
      return { json: str(r.pick(["", "not a url", "http://[::1", "//example.com/", "http://exa mple.com/", "https://%zz/"])), note: "invalid", reaches: false };
    case "scheme":
      return { json: str(r.pick(["ftp://example.com/", "file:///etc/passwd", "javascript:alert(1)", "data:,x", "blob:https://a/b", "gopher://x/"])), note: "another scheme", reaches: false };
    case "surrogate":
      // The URL parser may make U+FFFD of it (then a host it refuses, or one not allowed).
      return { json: '"https://ex\\ud800ample.com/"', note: "lone surrogate", reaches: undefined };
    default:
      return { json: r.pick(["5", "null", "[]"]), note: "not a string", reaches: false };
  }
}

function httpFetch(r: Rng): ServiceRequest {
  const u = url(r, ["http", "https"]);
  const method = r.pick(['"GET"', '"POST"', '""', '"G\\r\\nET"', '"CONNECT"', '"\\ud800"', "7"]);
  const headers = r.weighted({ none: 3, crlf: 2, many: 1, bad: 1, surrogate: 1 });
  const h =
    headers === "none"
      ? "[]"
      : headers === "crlf"
        ? '[["x-a","b\\r\\nx-injected: 1"]]'
        : headers === "many"
          ? JSON.stringify(Array.from({ length: r.pick([1000, 5000]) }, (_, i) => [`x-${i}`, "v"]))
          : headers === "bad"
            ? r.pick(['"x"', '[["only-name"]]', '[[1,2]]', "{}"])
            : '[["x-\\ud800","v"]]';
  const body = r.pick(["null", "[]", "[1,2,3]", "[256]", '"xyz"']);
  const typed = u.note !== "not a string" && method !== "7" && headers !== "bad" && ["null", "[]", "[1,2,3]", '"xyz"'].includes(body);
  // Typed right: a URL the service refuses (BadRequest), or one it reaches the allow list with (AccessDenied).
  const outcome: number[] = !typed ? [...BAD] : u.reaches === true ? [Code.AccessDenied] : u.reaches === false ? [Code.BadRequest] : [Code.BadRequest, Code.AccessDenied];
  // Thousands of headers may be over the request limit: refused before the service sees them.
  if (headers === "many") outcome.push(Code.LimitExceeded);
  return {
    topic: "http.fetch",
    format: Format.Json,
    body: text(`{"method":${method},"url":${u.json},"headers":${h},"body":${body}}`),
    note: `url ${u.note}, method ${method}, headers ${headers}, body ${body.slice(0, 8)}`,
    outcome,
  };
}

function wsConnect(r: Rng): ServiceRequest {
  const u = url(r, ["ws", "wss", "http", "https"]);
  const outcome = u.note === "not a string" ? BAD : u.reaches === true ? [Code.AccessDenied] : u.reaches === false ? [Code.BadRequest] : [Code.BadRequest, Code.AccessDenied];
  return { topic: "socket_builder.connect", format: Format.Json, body: text(`{"url":${u.json}}`), note: `url ${u.note}`, outcome };
}

/** A sub-API call (web_socket.send, process.*) under whatever parent the guest names: no socket is ever open here. */
function subCall(r: Rng): ServiceRequest {
  const topic = r.pick(["web_socket.send", "process.write_stdin", "process.close_stdin", "process.kill"]);
  const body = topic === "web_socket.send" || topic === "process.write_stdin" ? r.pick(['{"data":[1,2]}', '{"data":[]}', '{"data":"x"}', '{"data":[-1]}']) : r.pick(["{}", "[]", "null"]);
  const typed = !body.includes("-1") && body !== "null" && body !== "[]";
  return {
    topic,
    format: Format.Json,
    body: text(body),
    note: `${body}`,
    // Refused as a request, or for its parent: no open socket, or not a process.spawn.
    outcome: typed ? [Code.InvalidHandle] : [...BAD, Code.InvalidHandle],
    sub: topic === "web_socket.send" ? "socket" : "process",
  };
}

function kvCall(r: Rng): ServiceRequest {
  const topic = r.pick(["kv.get", "kv.read", "kv.put", "kv.delete", "kv.list", "kv.cas"]);
  const key = r.chance(0.15) ? { json: r.pick(["5", "null", "[]"]), note: "not a string", bad: true } : { ...edgeString(r), bad: false };
  let body: string;
  let bad = key.bad;
  switch (topic) {
    case "kv.put": {
      const value = r.pick(["[]", "[1,2]", "[256]", '"v"', "null"]);
      // A JSON string is bytes too: its UTF-8.
      bad ||= value === "[256]" || value === "null";
      body = `{"key":${key.json},"value":${value}}`;
      break;
    }
    case "kv.list": {
      const limit = edgeNumber(r, 32);
      const cursor = r.pick(["null", '"\\ud800"', '""', '"\\uffff\\uffff"', "7"]);
      bad ||= !limit.ok || cursor === "7";
      body = `{"prefix":${key.json},"limit":${limit.json},"cursor":${cursor}}`;
      break;
    }
    case "kv.cas": {
      const version = edgeNumber(r, 64);
      const value = r.pick(["null", "[9]", "[-1]"]);
      bad ||= !version.ok || value === "[-1]";
      body = `{"key":${key.json},"version":${version.json},"value":${value}}`;
      break;
    }
    default:
      body = `{"key":${key.json}}`;
  }
  // No storage in this runtime: a request typed right is refused Unsupported, after its types are checked.
  return { topic, format: Format.Json, body: text(body), note: `key ${key.note}`, outcome: bad ? BAD : [Code.Unsupported] };
}

/** process.spawn of a module that is not there, or with fields of the wrong types: refused, nothing spawned. */
function spawn(r: Rng): ServiceRequest {
  if (r.chance(0.5)) {
    const module = r.pick(['""', '"nope"', '"\\ud800"', '"os"', str("m".repeat(300)), '"__proto__"', '"constructor"', '"hello@x"']);
    return {
      topic: "process.spawn",
      format: Format.Json,
      body: text(`{"module":${module},"args":[],"env":{},"stdin":null}`),
      note: `module ${module.slice(0, 12)}`,
      outcome: [Code.InvalidWapm, Code.BadRequest],
    };
  }
  const field = r.pick(['"args":"x"', '"args":[1]', '"env":"x"', '"env":{"a":1}', '"stdin":[300]', '"module":5']);
  const fields = { module: '"countdown"', args: '["1"]', env: "{}", stdin: "null" } as Record<string, string>;
  const [name, value] = [field.slice(1, field.indexOf('"', 1)), field.slice(field.indexOf(":") + 1)];
  fields[name] = value;
  const body = `{${Object.entries(fields).map(([k, v]) => `"${k}":${v}`).join(",")}}`;
  return { topic: "process.spawn", format: Format.Json, body: text(body), note: field, outcome: BAD };
}

/** One hostile request to a built-in service. */
export function serviceRequest(r: Rng): ServiceRequest {
  const kind = r.weighted({ log: 3, sleep: 4, http: 3, ws: 2, sub: 2, kv: 3, spawn: 1 });
  const req =
    kind === "log" ? logWrite(r) : kind === "sleep" ? sleep(r) : kind === "http" ? httpFetch(r) : kind === "ws" ? wsConnect(r) : kind === "sub" ? subCall(r) : kind === "kv" ? kvCall(r) : spawn(r);
  return { ...req, note: `os/${req.topic} (${req.note})` };
}
