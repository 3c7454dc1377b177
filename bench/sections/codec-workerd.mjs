// 5, in workerd: the 64 KiB http.fetch response encoded and decoded as JSON the way the runtime
// does it, against msgpackr with the runtime's options, both inside workerd (bench/worker/codec.ts,
// one isolate, served by the workerd binary straight: no Miniflare, no wrangler proxy). Each
// request makes K round trips of one codec; the CPU workerd spent (every thread, schedstat) less
// a request that makes none, over K, is a round trip's CPU. This is the target's row: Workers bill
// and limit CPU as workerd spends it, with its own V8 build, its allocator (tcmalloc) and
// no Node Buffer, so both codecs cost there what they cost a Worker; section 5's Node row stays
// beside it. Codecs take turns; each recorded batch follows one unrecorded request of its own
// codec, so it pays its own garbage, not the other's (lib/stats.mjs).
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { out, root } from "../lib/paths.mjs";
import { median } from "../lib/stats.mjs";
import { bundleWorker, cpuNs, freePort, serveWorkerd } from "../lib/workerd.mjs";

const BODY_BYTES = 65536;

function writeConfig(dir, port) {
  const wasm = readdirSync(dir).filter((f) => f.endsWith(".wasm"));
  // wrangler names the bundle after the entry (codec.js)
  const main = readdirSync(dir).find((f) => f.endsWith(".js"));
  const file = join(dir, "config.capnp");
  writeFileSync(
    file,
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "codec", worker = .codec) ],
  sockets = [ (name = "codec", address = "127.0.0.1:${port}", http = (), service = "codec") ],
);
const codec :Workerd.Worker = (
  modules = [ (name = "${main}", esModule = embed "${main}"), ${wasm.map((f) => `(name = "${f}", wasm = embed "${f}")`).join(", ")} ],
  compatibilityDate = "2026-11-01",
);
`,
  );
  return file;
}

/** Minor page faults of a process so far (/proc/<pid>/stat's tenth field). */
const minorFaults = (pid) => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")[7]);

export async function run({ quick }) {
  const dir = join(out, "worker-codec");
  bundleWorker(dir, join(root, "bench/codec-wrangler.toml"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const get = async (path) => {
    const res = await fetch(`${base}${path}`);
    const text = await res.text();
    if (!res.ok || Number(text) !== BODY_BYTES) throw new Error(`codec-workerd ${path}: ${res.status} ${text.slice(0, 200)}`);
  };
  const child = await serveWorkerd(dir, writeConfig(dir, port), async () => (await fetch(`${base}/none`)).ok, "codec-workerd");
  try {
    const k = quick ? 100 : 400;
    const rounds = quick ? 3 : 9;
    const batch = 4;
    const codecs = ["msgpackr", "json", "none"];
    const path = (codec) => (codec === "none" ? "/none" : `/${codec}?k=${k}`);
    for (const codec of codecs) for (let i = 0; i < 3; i++) await get(path(codec)); // warm up (JIT, the kernel)
    const cpu = Object.fromEntries(codecs.map((c) => [c, []]));
    const faults = Object.fromEntries(codecs.map((c) => [c, []]));
    for (let r = 0; r < rounds; r++) {
      for (const codec of codecs.map((_, i) => codecs[(i + r) % codecs.length])) {
        await get(path(codec)); // unrecorded: the garbage this batch inherits is its own kind's
        const [ns, f] = [cpuNs(child.pid), minorFaults(child.pid)];
        for (let i = 0; i < batch; i++) await get(path(codec));
        cpu[codec].push((cpuNs(child.pid) - ns) / batch);
        faults[codec].push((minorFaults(child.pid) - f) / batch);
      }
    }
    // Per round: a request's CPU less the empty request's of the same round, over its round trips.
    const perRoundTrip = (codec) => cpu[codec].map((ns, i) => (ns - cpu.none[i]) / k);
    const json = perRoundTrip("json");
    const msgpackr = perRoundTrip("msgpackr");
    const ratio = median(json.map((x, i) => x / msgpackr[i]));
    const section = `5. codec encode+decode in workerd, http.fetch response, 64 KiB body (CPU per round trip, ${rounds}x${batch} requests of ${k})`;
    const rows = [
      { section, name: "msgpackr, records off", ns: median(msgpackr) },
      {
        section,
        name: "JSON as the bus does it",
        ns: median(json),
        vs: "msgpackr",
        ratio,
        target: { text: "<= 10x msgpackr", met: ratio <= 10, margin: 10 / ratio },
      },
      { section, name: "page faults per JSON round trip (msgpackr's beside it)", value: median(faults.json) / k, unit: `(${(median(faults.msgpackr) / k).toFixed(2)})` },
    ];
    const keys = {
      json_bytes_64kib_ratio: ratio,
      codec_fetch_response_64kib_workerd_msgpackr_ns: median(msgpackr),
      codec_fetch_response_64kib_workerd_json_ns: median(json),
    };
    return { rows, keys };
  } finally {
    child.kill("SIGTERM");
  }
}
