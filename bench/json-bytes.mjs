#!/usr/bin/env node
// JSON's long byte arrays (src/codec/json-bytes*.ts and the kernel, src/codec/json-bytes.wat) in
// this tree against another commit's:
//
//   node bench/json-bytes.mjs [ref] [processes]   ref: a commit, branch or tag (default HEAD)
//
// Two measurements, because the round trip's time hangs on Node's allocator as much as on the code:
// - the kernels alone, both in one process, interleaved (paired medians): 64 KiB written as text,
//   and that text read back (its copy into the kernel's memory included);
// - the bench's codec row (bench/sections/codec.mjs, the 64 KiB http.fetch response, beside the
//   same four other codecs), one bundle a process, `processes` of each side (default 3) in turn:
//   JSON's round trip, msgpackr's, and their ratio. Two bundles in one process draw each other's
//   garbage (a 234 KB text a round trip) and read up to 1.5x apart for the same code.
// Each side's kernel is built from its own json-bytes.wat, as scripts/build-modules.mjs builds it.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { bin, out, root } from "./lib/paths.mjs";

const bytes = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 31) & 0xff);
const response = { status: 200, headers: [["content-type", "application/octet-stream"], ["content-length", "65536"], ["date", "Tue, 24 Nov 2026 03:00:00 GMT"]], body: bytes(65536) };
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** The kernels of both sides, interleaved: per-sample times (us) of each. */
async function kernels(sides, rounds) {
  const fns = {};
  for (const [name, { kernelJs, wasm }] of Object.entries(sides)) {
    const { JsonKernel, KERNEL_BASE } = await import(pathToFileURL(kernelJs).href);
    const k = new JsonKernel(new WebAssembly.Module(readFileSync(wasm)));
    k.fit(KERNEL_BASE + (1 << 20));
    const n = response.body.length;
    const text = new TextEncoder().encode(JSON.stringify(Array.from(response.body)));
    const src = KERNEL_BASE + 5 * n;
    fns[`${name} write`] = () => {
      k.bytes.set(response.body, src);
      return k.encode(src, n, KERNEL_BASE + 1);
    };
    fns[`${name} read`] = () => {
      k.bytes.set(text, KERNEL_BASE);
      const end = k.decode(KERNEL_BASE + 1, KERNEL_BASE + text.length, KERNEL_BASE + text.length + 16);
      if (end !== KERNEL_BASE + text.length || k.count !== n) throw new Error(`${name}: the kernel did not read the text back`);
      return end;
    };
    // both ways right before timing: the same text, the same bytes
    const end = fns[`${name} write`]();
    if (Buffer.compare(Buffer.from(k.bytes.subarray(KERNEL_BASE + 1, end - 1)), Buffer.from(text.subarray(1, -1)))) throw new Error(`${name}: wrong text`);
    fns[`${name} read`]();
    if (Buffer.compare(Buffer.from(k.bytes.subarray(KERNEL_BASE + text.length + 16, KERNEL_BASE + text.length + 16 + n)), Buffer.from(response.body))) throw new Error(`${name}: wrong bytes`);
  }
  const time = (fn) => {
    const t0 = performance.now();
    for (let i = 0; i < 300; i++) fn();
    return ((performance.now() - t0) / 300) * 1000;
  };
  for (const fn of Object.values(fns)) time(fn);
  const runs = Object.fromEntries(Object.keys(fns).map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) for (const n of r % 2 ? Object.keys(fns).reverse() : Object.keys(fns)) runs[n].push(time(fns[n]));
  return runs;
}

/** The bench's codec row for one bundle: medians (us) of JSON's and msgpackr's round trips, and the ratio. */
async function row(coreFile, wasm) {
  const { measure, ratio } = await import("./lib/stats.mjs");
  const { decode: mpDecode, encode: mpEncode } = await import("@msgpack/msgpack");
  const core = await import(pathToFileURL(coreFile).href);
  core.useJsonKernel(new WebAssembly.Module(readFileSync(wasm)));
  const schema = core.builtinServices().topics["http.fetch"].response;
  const packr = new core.Packr({ useRecords: false, mapsAsObjects: true, int64AsType: "bigint", variableMapSize: true });
  const utf8 = new TextEncoder();
  const text = new TextDecoder();
  const asArrays = { ...response, body: Array.from(response.body) };
  const times = (fn) => (k) => {
    for (let i = 0; i < k; i++) fn();
  };
  // as the bench's section has them, in its order
  const codecs = {
    msgpackr: () => packr.unpack(packr.pack(response).slice()),
    msgpack: () => mpDecode(mpEncode(response)),
    busJson: () => core.decode(1, core.encode(1, response, schema), schema),
    busMsgpack: () => core.decode(2, core.encode(2, response, schema), schema),
    plainJson: () => JSON.parse(text.decode(utf8.encode(JSON.stringify(asArrays)))),
  };
  if (Buffer.compare(Buffer.from(codecs.busJson().body), Buffer.from(response.body))) throw new Error("JSON's round trip changed the body");
  const m = await measure(Object.fromEntries(Object.entries(codecs).map(([n, fn]) => [n, times(fn)])), { samples: 21, targetMs: 25 });
  return { json: m.busJson.ns / 1000, msgpackr: m.msgpackr.ns / 1000, ratio: ratio(m.busJson, m.msgpackr) };
}

/** A tree's core bundle, kernel class and kernel binary, in `dir`. */
async function prepare(tree, dir) {
  const { bundleCore } = await import("./lib/build.mjs");
  const wabt = await (await import("wabt")).default();
  const wat = join(tree, "src/codec/json-bytes.wat");
  const parsed = wabt.parseWat(wat, readFileSync(wat, "utf8"), { bulk_memory: true, multi_value: true, mutable_globals: true, relaxed_simd: true });
  parsed.resolveNames();
  parsed.validate();
  writeFileSync(join(dir, "json-bytes.wasm"), parsed.toBinary({}).buffer);
  parsed.destroy();
  execFileSync(bin("esbuild"), [join(tree, "src/codec/json-kernel.ts"), "--bundle", "--platform=neutral", "--format=esm", "--log-level=warning", `--outfile=${join(dir, "kernel.mjs")}`]);
  return { core: bundleCore(tree, join(dir, "core.mjs")), kernelJs: join(dir, "kernel.mjs"), wasm: join(dir, "json-bytes.wasm") };
}

const args = process.argv.slice(2);
if (args[0] === "--row") {
  process.stdout.write(`@@result ${JSON.stringify(await row(args[1], args[2]))}\n`);
  process.exit(0);
}
const ref = args[0] ?? "HEAD";
const processes = Number(args[1] ?? 3);
const sha = execFileSync("git", ["rev-parse", "--short", ref], { cwd: root, encoding: "utf8" }).trim();
mkdirSync(out, { recursive: true });
const work = mkdtempSync(join(out, `json-bytes-${sha}-`));
try {
  const tree = join(work, "tree");
  mkdirSync(tree);
  execFileSync("bash", ["-c", `git archive ${sha} src bench/core.ts | tar -x -C "${tree}"`], { cwd: root, stdio: "inherit" });
  for (const dir of ["node_modules", "build"]) symlinkSync(join(root, dir), join(tree, dir));
  mkdirSync(join(work, "base"));
  mkdirSync(join(work, "this"));
  const sides = { [sha]: await prepare(tree, join(work, "base")), this: await prepare(root, join(work, "this")) };

  const runs = await kernels(sides, 15);
  const us = (x) => `${x.toFixed(2)} us`;
  console.log(`the kernels alone, 15 interleaved rounds (medians; this / ${sha}, paired)`);
  for (const what of ["write", "read"]) {
    const a = runs[`${sha} ${what}`];
    const b = runs[`this ${what}`];
    console.log(`  ${what === "write" ? "64 KiB written as text" : "its text read back (copied in first)"}`.padEnd(44), `${us(median(a)).padStart(9)} -> ${us(median(b)).padStart(9)}   ${median(b.map((x, i) => x / a[i])).toFixed(3)}x`);
  }

  console.log(`the bench's codec row (64 KiB http.fetch response), one bundle a process, ${processes} of each in turn`);
  for (let p = 0; p < processes; p++) {
    for (const [name, side] of Object.entries(sides)) {
      const child = execFileSync(process.execPath, ["--expose-gc", "--no-warnings", join(root, "bench/json-bytes.mjs"), "--row", side.core, side.wasm], {
        cwd: root,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        timeout: 300_000,
      });
      const r = JSON.parse(child.split("\n").find((l) => l.startsWith("@@result ")).slice(9));
      console.log(`  ${name.padEnd(8)} JSON ${us(r.json).padStart(9)}   msgpackr ${us(r.msgpackr).padStart(8)}   ${r.ratio.toFixed(2)}x`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
