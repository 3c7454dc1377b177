// What a session's socket attachment costs per frame sent, in workerd: the counts of bytes sent
// and acknowledged that bus-session.ts keeps in each socket's attachment (docs/performance.md,
// "The socket's attachment, per frame"). bench/attachment/worker.ts, bundled here, holds one
// hibernatable socket and does a frame's attachment work n times per request: as the session did
// before its counts were kept in memory (two reads and a write), as it does now (the write), and
// the loop alone. The cost is workerd's CPU (lib/workerd.mjs cpuNs) per request over n, the kinds
// taking turns in each sample.
//
//   node bench/session-attachment.mjs [--frames=20000] [--samples=21]
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { bin, out, root } from "./lib/paths.mjs";
import { median } from "./lib/stats.mjs";
import { cpuNs, freePort, serveWorkerd } from "./lib/workerd.mjs";

const arg = (name, dflt) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const FRAMES = Number(arg("frames", "20000"));
const SAMPLES = Number(arg("samples", "21"));
const KINDS = ["attachment", "memory", "none"];

const dir = join(out, "session-attachment");
rmSync(dir, { recursive: true, force: true });
mkdirSync(join(dir, "state"), { recursive: true });
execFileSync(bin("esbuild"), [
  join(root, "bench/attachment/worker.ts"), "--bundle", "--format=esm", "--target=es2022", "--external:cloudflare:workers",
  "--log-level=warning", `--outfile=${join(dir, "index.js")}`,
], { stdio: "inherit" });
const port = await freePort();
writeFileSync(join(dir, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "bench", worker = .bench), (name = "state", disk = (path = ${JSON.stringify(join(dir, "state"))}, writable = true)) ],
  sockets = [ (name = "bench", address = "127.0.0.1:${port}", http = (), service = "bench") ],
);
const bench :Workerd.Worker = (
  modules = [ (name = "index.js", esModule = embed "index.js") ],
  compatibilityDate = "2026-11-01",
  bindings = [ (name = "FRAMES", durableObjectNamespace = "Frames") ],
  durableObjectNamespaces = [ (className = "Frames", uniqueKey = "bench-session-attachment", enableSql = true) ],
  durableObjectStorage = (localDisk = "state"),
);
`);
const origin = `http://127.0.0.1:${port}`;
const child = await serveWorkerd(dir, join(dir, "config.capnp"), async () => (await fetch(`${origin}/`)).status === 400, "session-attachment");
try {
  const WebSocket = createRequire(import.meta.url)("ws");
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket`);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  /** ns of workerd's CPU per frame, for n frames of `kind`. */
  const run = async (kind) => {
    const c0 = cpuNs(child.pid);
    const res = await fetch(`${origin}/frames?kind=${kind}&n=${FRAMES}`);
    if (!res.ok) throw new Error(`session-attachment: ${kind} answered ${res.status} ${await res.text()}`);
    await res.text();
    return (cpuNs(child.pid) - c0) / FRAMES;
  };
  for (const kind of KINDS) await run(kind); // warm-up, not counted
  const ns = Object.fromEntries(KINDS.map((k) => [k, []]));
  for (let s = 0; s < SAMPLES; s++) for (const kind of s % 2 ? [...KINDS].reverse() : KINDS) ns[kind].push(await run(kind));
  const none = median(ns.none);
  console.table(KINDS.map((kind) => ({ kind, "ns/frame": median(ns[kind]).toFixed(0), "ns/frame less the loop": (median(ns[kind]) - none).toFixed(0) })));
  ws.close();
} finally {
  child.kill("SIGKILL");
}
