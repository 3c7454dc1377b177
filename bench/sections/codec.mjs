// 5. Codec cost for the bus's payload shapes: encode + decode of one value.
//  - msgpackr, records off, with the runtime's options (src/codec/index.ts),
//    bundled the way workerd gets it (no native addon);
//  - @msgpack/msgpack (pure JS);
//  - JSON as the bus does it (src/codec encode/decode with the topic's schema, as
//    the runtime calls them: big integers keep their digits, bytes are arrays of
//    numbers on the wire, written and read by hand where long, UTF-8 both ways);
//  - plain JSON.stringify / JSON.parse + UTF-8 of the same data with bytes
//    already turned into arrays of numbers: the floor for JSON, without the
//    bus's replacer and reviver.
import { decode as mpDecode, encode as mpEncode } from "@msgpack/msgpack";
import { core } from "../lib/bus.mjs";
import { fetchResponse as response } from "../lib/fetch-response.mjs";
import { measure, ratio } from "../lib/stats.mjs";

// The schemas the runtime decodes and encodes these with (the built-ins' topic specs).
const topics = core.builtinServices().topics;
const greet = { struct: { name: "string" } };
const SHAPES = {
  "greet {name}": [{ name: "Ada" }, greet],
  "time.sleep {duration_ms}": [{ duration_ms: 100 }, topics["time.sleep"].request],
  "http.fetch request": [{ method: "GET", url: "https://example.com/some/path?q=1", headers: [["accept", "application/json"], ["user-agent", "wasm-bus"]], body: null }, topics["http.fetch"].request],
  "http.fetch response, 1 KiB body": [response(1024), topics["http.fetch"].response],
  "http.fetch response, 64 KiB body": [response(65536), topics["http.fetch"].response],
};

export async function run({ samples, targetMs }) {
  // The runtime's Packr (src/codec/index.ts): records off, maps as objects, int64 as bigint.
  const packr = new core.Packr({ useRecords: false, mapsAsObjects: true, int64AsType: "bigint", variableMapSize: true });
  const utf8 = new TextEncoder();
  const text = new TextDecoder();
  const rows = [];
  const keys = {};
  for (const [shape, [value, schema]] of Object.entries(SHAPES)) {
    const asArrays = value.body instanceof Uint8Array ? { ...value, body: Array.from(value.body) } : value;
    const times = (fn) => (k) => {
      let x;
      for (let i = 0; i < k; i++) x = fn();
      return x;
    };
    // round trips that must give the value back (bytes as Uint8Array or as numbers)
    const codecs = {
      msgpackr: () => packr.unpack(packr.pack(value).slice()),
      msgpack: () => mpDecode(mpEncode(value)),
      busJson: () => core.decode(1, core.encode(1, value, schema), schema),
      // msgpack through src/codec (one value exactly, its checks) rather than msgpackr alone
      busMsgpack: () => core.decode(2, core.encode(2, value, schema), schema),
      plainJson: () => JSON.parse(text.decode(utf8.encode(JSON.stringify(asArrays)))),
    };
    for (const [name, fn] of Object.entries(codecs)) {
      const back = fn();
      const norm = (v) => JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? Array.from(x) : x && x.type === "Buffer" ? x.data : x));
      if (name !== "plainJson" && norm(back) !== norm(value)) throw new Error(`codec ${name} ${shape}: value changed in the round trip`);
    }
    const m = await measure(Object.fromEntries(Object.entries(codecs).map(([n, fn]) => [n, times(fn)])), { samples, targetMs });
    const section = `5. codec encode+decode, ${shape}`;
    const size = (b) => `${b.length} B`;
    rows.push({ section, name: `msgpackr, records off (${size(packr.pack(value))})`, ns: m.msgpackr.ns });
    rows.push({ section, name: `@msgpack/msgpack (${size(mpEncode(value))})`, ns: m.msgpack.ns, vs: "msgpackr", ratio: ratio(m.msgpack, m.msgpackr) });
    const big = shape.startsWith("http.fetch response, 64 KiB");
    rows.push({ section, name: `JSON as the bus does it (${size(core.encode(1, value, schema))})`, ns: m.busJson.ns, vs: "msgpackr", ratio: ratio(m.busJson, m.msgpackr) });
    rows.push({ section, name: "msgpack as the bus does it (src/codec decode and encode)", ns: m.busMsgpack.ns, vs: "msgpackr", ratio: ratio(m.busMsgpack, m.msgpackr) });
    rows.push({ section, name: "plain JSON.stringify/parse (floor, no replacer/reviver)", ns: m.plainJson.ns, vs: "msgpackr", ratio: ratio(m.plainJson, m.msgpackr) });
    if (shape.startsWith("http.fetch response, 1 KiB")) {
      keys.codec_fetch_response_1kib_msgpackr_ns = m.msgpackr.ns;
      keys.codec_fetch_response_1kib_msgpack_ratio = ratio(m.msgpack, m.msgpackr);
      keys.codec_fetch_response_1kib_json_ratio = ratio(m.busJson, m.msgpackr);
    }
    if (big) {
      // The target reads the same round trip in workerd (./codec-workerd.mjs): what Workers bill.
      const faults = minorFaults(() => codecs.busJson(), 200);
      rows.push({ section, name: "page faults per JSON round trip (msgpackr's beside it)", value: faults, unit: `(${minorFaults(() => codecs.msgpackr(), 200).toFixed(2)})` });
      keys.json_bytes_64kib_node_ratio = ratio(m.busJson, m.msgpackr);
      keys.json_bytes_64kib_node_faults = faults;
      keys.codec_fetch_response_64kib_msgpackr_ns = m.msgpackr.ns;
      keys.codec_fetch_response_64kib_json_ns = m.busJson.ns;
    }
    if (shape.startsWith("greet")) {
      keys.codec_greet_msgpackr_ns = m.msgpackr.ns;
      keys.codec_greet_msgpack_ratio = ratio(m.msgpack, m.msgpackr);
      keys.codec_greet_json_ratio = ratio(m.busJson, m.msgpackr);
    }
  }
  return { rows, keys };
}

/** Minor page faults per call of `fn` in this process, over `n` calls. */
function minorFaults(fn, n) {
  const before = process.resourceUsage().minorPageFault;
  for (let i = 0; i < n; i++) fn();
  return (process.resourceUsage().minorPageFault - before) / n;
}
