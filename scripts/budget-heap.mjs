#!/usr/bin/env node
// The heap a payload can make at its container budget (src/codec/budget.ts), by kind, against
// the densest JSON within the same limit:
//
//   node scripts/budget-heap.mjs [--limit BYTES] [--runs N] [--only NAME]
//
// Each payload is the most of one kind the budget lets through at the limit (default 1 MiB);
// it is decoded as the bus decodes it (src/codec decode; a WebSocket frame's containers go through
// the same scan, at 64 KiB), and what the value holds is measured after a full gc: heapUsed +
// external (external counts ArrayBuffers), median of N runs (default 5), each in a Node of its
// own. A payload the budget refuses prints "refused" and its message. It runs on an older
// src/codec/budget.ts too (one unit a container, before COST), to compare.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const arg = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const LIMIT = Number(arg("limit", 1 << 20));
const RUNS = Number(arg("runs", 5));
const ONLY = arg("only", undefined);

if (process.argv[2] === "--child") {
  const [, , , file, name, limit] = process.argv;
  const { cases } = await import(pathToFileURL(file).href);
  const c = cases(Number(limit)).find((k) => k.name === name);
  const data = c.bytes();
  const used = () => {
    globalThis.gc();
    globalThis.gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  const before = used();
  let value;
  try {
    value = c.decode(data);
  } catch (err) {
    console.log(JSON.stringify({ refused: err.message }));
    process.exit(0);
  }
  const after = used();
  console.log(JSON.stringify({ bytes: after - before, payload: data.length, keep: typeof value }));
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), "budget-heap-"));
const entry =
  `
import { Format } from ${JSON.stringify(join(root, "src/abi.ts"))};
import { decode } from ${JSON.stringify(join(root, "src/codec/index.ts"))};
import * as budget from ${JSON.stringify(join(root, "src/codec/budget.ts"))};
const { containerBudget } = budget;
// undefined before kinds had costs: one unit each
const COST = (budget as { COST?: Record<string, number> }).COST;

const text = (s: string) => new TextEncoder().encode(s);
const json = (l: number, make: (l: number) => string) => () => text(make(l));
/** the longest run of 'unit' within 'room' bytes, between 'open' and 'close' */
const fill = (open: string, unit: string, close: string, room: number, sep = ",") => {
  const n = Math.floor((room - open.length - close.length + sep.length) / (unit.length + sep.length));
  return open + Array(n).fill(unit).join(sep) + close;
};
/** msgpack: an array32 of 'n' copies of 'element' */
const array32 = (n: number, element: number[]) => {
  const out = new Uint8Array(5 + n * element.length);
  out.set([0xdd, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
  for (let i = 0; i < n; i++) out.set(element, 5 + i * element.length);
  return out;
};
/** the most elements of a kind the budget lets into one array */
const cost = (kind: string) => COST?.[kind] ?? 1;
const most = (l: number, kind: string) => Math.floor((containerBudget(l) - cost("array")) / cost(kind));
const mp = (l: number) => (d: Uint8Array) => decode(Format.Msgpack, d, undefined, l);
const bc = (l: number, schema: any) => (d: Uint8Array) => decode(Format.Bincode, d, schema, l);
const js = (d: Uint8Array) => decode(Format.Json, d);
const vec = (n: number, unit: number[]) => {
  const out = new Uint8Array(8 + n * unit.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  for (let i = 0; i < n; i++) out.set(unit, 8 + i * unit.length);
  return out;
};

export const cases = (l: number) => [
  // the densest JSON within the limit, the yardstick
  { name: "json [[[...]]]", bytes: json(l, (l) => "[".repeat(l / 2) + "]".repeat(l / 2)), decode: js },
  { name: "json [[],[],...]", bytes: json(l, (l) => fill("[", "[]", "]", l)), decode: js },
  { name: "json [{},{},...]", bytes: json(l, (l) => fill("[", "{}", "]", l)), decode: js },
  { name: "json [[0],[0],...]", bytes: json(l, (l) => fill("[", "[0]", "]", l)), decode: js },
  { name: "json [0,0,...]", bytes: json(l, (l) => fill("[", "0", "]", l)), decode: js },
  { name: "json [0.5,...]", bytes: json(l, (l) => fill("[", "0.5", "]", l)), decode: js },
  { name: 'json ["ab",...]', bytes: json(l, (l) => fill("[", '"ab"', "]", l)), decode: js },
  { name: "json [[],...] as Vec<bytes>", bytes: json(l, (l) => fill("[", "[]", "]", l)), decode: (d: Uint8Array) => decode(Format.Json, d, { seq: "bytes" }) },
  { name: 'json ["",...] as Vec<bytes>', bytes: json(l, (l) => fill("[", '""', "]", l)), decode: (d: Uint8Array) => decode(Format.Json, d, { seq: "bytes" }) },
  // msgpack at its budget: one kind of container each
  { name: "msgpack empty arrays", bytes: () => array32(most(l, "array"), [0x90]), decode: mp(l) },
  { name: "msgpack Vec<(u8,)>", bytes: () => array32(Math.min(most(l, "array"), Math.floor((l - 5) / 2)), [0x91, 0x01]), decode: mp(l) },
  { name: "msgpack empty maps", bytes: () => array32(most(l, "map"), [0x80]), decode: mp(l) },
  { name: "msgpack {'':0} maps", bytes: () => array32(Math.min(most(l, "map"), Math.floor((l - 5) / 3)), [0x81, 0xa0, 0x00]), decode: mp(l) },
  { name: "msgpack [[],...] as Vec<bytes>", bytes: () => array32(most(l, "bin"), [0x90]), decode: (d: Uint8Array) => decode(Format.Msgpack, d, { seq: "bytes" }, l) },
  { name: 'msgpack ["",...] as Vec<bytes>', bytes: () => array32(Math.min(l - 5, most(l, "bin")), [0xa0]), decode: (d: Uint8Array) => decode(Format.Msgpack, d, { seq: "bytes" }, l) },
  { name: "msgpack empty bins", bytes: () => array32(most(l, "bin"), [0xc4, 0x00]), decode: mp(l) },
  { name: "msgpack 1-byte bins", bytes: () => array32(Math.min(most(l, "bin"), Math.floor((l - 5) / 3)), [0xc4, 0x01, 0x00]), decode: mp(l) },
  // bincode at its budget
  { name: "bincode Vec<{v:u8}>", bytes: () => vec(most(l, "map"), [1]), decode: bc(l, { seq: { struct: { v: "u8" } } }) },
  { name: "bincode Vec<(u8,)>", bytes: () => vec(most(l, "array"), [1]), decode: bc(l, { seq: { tuple: ["u8"] } }) },
  { name: "bincode Vec<Vec<u8>> empty", bytes: () => vec(Math.min(most(l, "bin"), Math.floor((l - 8) / 8)), [0, 0, 0, 0, 0, 0, 0, 0]), decode: bc(l, { seq: "bytes" }) },
  { name: "bincode Vec<HashMap> empty", bytes: () => vec(Math.min(most(l, "map"), Math.floor((l - 8) / 8)), [0, 0, 0, 0, 0, 0, 0, 0]), decode: bc(l, { seq: { map: ["string", "u8"] } }) },
];

`;
const bundle = join(dir, "bundle.mjs");
const { build } = await import("esbuild");
await build({ stdin: { contents: entry, resolveDir: root, loader: "ts" }, bundle: true, format: "esm", platform: "node", outfile: bundle, logLevel: "error" });

const { cases } = await import(pathToFileURL(bundle).href);
const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
console.log(`limit ${LIMIT} bytes, median of ${RUNS} runs (heapUsed + external after gc)`);
for (const { name } of cases(LIMIT)) {
  if (ONLY && !name.includes(ONLY)) continue;
  const runs = [];
  let last;
  for (let i = 0; i < RUNS; i++) {
    const out = execFileSync(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), "--child", bundle, name, String(LIMIT)], { encoding: "utf8", maxBuffer: 1 << 20 });
    last = JSON.parse(out.trim().split("\n").pop());
    if (last.refused) break;
    runs.push(last.bytes);
  }
  if (last.refused) console.log(`${name.padEnd(30)} refused: ${last.refused}`);
  else console.log(`${name.padEnd(30)} ${mb(median(runs)).padStart(9)}  (${last.payload} bytes)`);
}
rmSync(dir, { recursive: true });
