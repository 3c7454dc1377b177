// 2. The same echo on the nearest peers, in this Node process: @wapc/host
// (a waPC guest calling __host_call) and @extism/extism (a plug-in calling a
// host function), against this runtime's core on the same guest logic. All
// three guests are hand-written WAT with the same fixed buffers
// (bench/guests/{bus,wapc,extism}-echo), raw bytes, unmetered, one instance
// kept for the whole run.
//
// Two workloads, both reported:
//  A. round trip: the guest sends the payload to the host's echo and has the
//     reply in its memory; k per batch (bus: chained from wasm_bus_finish;
//     peers: a loop inside one invocation, as their synchronous ABIs allow).
//  B. invoke with one host call: the host hands the guest the payload, the
//     guest echoes it through one host call and answers with the reply
//     (bus: an inbound call on a live instance; waPC: host.invoke; Extism:
//     plugin.call). Also the bus's per-request path, a fresh instance per call.
import { createRequire } from "node:module";
import { accept, assertNoProblems, core, dispatch, makeRuntime, payload, sameBytes, SIZES, wasm, withCount } from "../lib/bus.mjs";
import { guest } from "../lib/paths.mjs";
import { measure, ratio } from "../lib/stats.mjs";
import { readFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const { instantiate: wapcInstantiate } = require("@wapc/host");
const { default: createPlugin } = await import("@extism/extism");

export async function run({ samples, targetMs }) {
  const runtime = makeRuntime();
  const bus = core.Guest.create(runtime.modules.get("bench-echo"), runtime, {});

  // waPC: the host callback answers every host call with the payload it was given (echo).
  const wapc = await wapcInstantiate(readFileSync(guest("wapc-echo")), (_binding, _namespace, _operation, bytes) => bytes);
  // Extism: a host function that reads the plug-in's block and stores it back as the reply.
  const extism = await createPlugin(
    { wasm: [{ module: wasm(guest("extism-echo")) }] },
    { useWasi: false, runInWorker: false, functions: { "extism:host/user": { echo: (cp, offset) => cp.store(cp.read(offset).bytes()) } } },
  );

  const rows = [];
  const keys = {};
  for (const [sizeName, size] of Object.entries(SIZES)) {
    const data = payload("raw", size);
    const check = (what, bytes) => {
      if (!sameBytes(bytes, data)) throw new Error(`${what} ${sizeName}: wrong reply`);
    };
    check("bus chain", (await accept(bus, "bench-echo", "bench", 0, withCount(3, data))).data);
    check("bus once", (await accept(bus, "bench-echo", "once", 0, data)).data);
    check("bus per-request", (await dispatch(runtime, "bench-echo", "once", 0, data)).data);
    check("wapc bench", await wapc.invoke("bench", withCount(3, data)));
    check("wapc echo", await wapc.invoke("echo", data));
    check("extism bench", (await extism.call("bench", withCount(3, data))).bytes());
    check("extism echo", (await extism.call("echo", data)).bytes());

    const repeat = (fn) => async (k) => {
      for (let i = 0; i < k; i++) await fn();
    };
    const m = await measure(
      {
        busChain: (k) => accept(bus, "bench-echo", "bench", 0, withCount(k, data)),
        wapcLoop: (k) => wapc.invoke("bench", withCount(k, data)),
        // Every alloc (and every host-side store) takes a new slot in the Extism host's block
        // table, emptied only by reset(). An address is index << 48 and comes back from the
        // guest as a signed i64, so past 32,767 slots reads fail: 2 slots per round trip.
        extismLoop: {
          maxK: 15_000,
          fn: async (k) => {
            await extism.reset();
            return extism.call("bench", withCount(k, data));
          },
        },
        busOnce: repeat(() => accept(bus, "bench-echo", "once", 0, data)),
        busFresh: repeat(() => dispatch(runtime, "bench-echo", "once", 0, data)),
        wapcOnce: repeat(() => wapc.invoke("echo", data)),
        extismOnce: {
          maxK: 7_000, // 4 slots per call
          fn: async (k) => {
            await extism.reset();
            for (let i = 0; i < k; i++) await extism.call("echo", data);
          },
        },
      },
      { samples, targetMs },
    );
    assertNoProblems(`peers ${sizeName}`);
    const A = `2A. echo round trip, ${sizeName}`;
    rows.push({ section: A, name: "this runtime (bus, Node)", ns: m.busChain.ns });
    rows.push({ section: A, name: "@wapc/host", ns: m.wapcLoop.ns, vs: "bus", ratio: ratio(m.busChain, m.wapcLoop), ratioLabel: "bus / peer" });
    rows.push({ section: A, name: "@extism/extism", ns: m.extismLoop.ns, vs: "bus", ratio: ratio(m.busChain, m.extismLoop), ratioLabel: "bus / peer" });
    const B = `2B. invoke with one host call, ${sizeName}`;
    rows.push({ section: B, name: "this runtime, live instance", ns: m.busOnce.ns });
    rows.push({ section: B, name: "this runtime, fresh instance per call", ns: m.busFresh.ns, vs: "live", ratio: ratio(m.busFresh, m.busOnce) });
    rows.push({ section: B, name: "@wapc/host", ns: m.wapcOnce.ns, vs: "bus live", ratio: ratio(m.busOnce, m.wapcOnce), ratioLabel: "bus / peer" });
    rows.push({ section: B, name: "@extism/extism", ns: m.extismOnce.ns, vs: "bus live", ratio: ratio(m.busOnce, m.extismOnce), ratioLabel: "bus / peer" });

    const tag = { 16: "16b", 1024: "1kib", 65536: "64kib" }[size];
    keys[`vs_wapc_${tag}_ratio`] = ratio(m.busChain, m.wapcLoop);
    keys[`vs_extism_${tag}_ratio`] = ratio(m.busChain, m.extismLoop);
    keys[`vs_wapc_${tag}_invoke_ratio`] = ratio(m.busOnce, m.wapcOnce);
    keys[`vs_extism_${tag}_invoke_ratio`] = ratio(m.busOnce, m.extismOnce);
    if (size === 16) {
      rows[rows.length - 6].target = { text: "bus <= 0.2x waPC (5x faster)", met: keys.vs_wapc_16b_ratio <= 0.2 };
      rows[rows.length - 2].target = { text: "bus <= 0.2x waPC (5x faster)", met: keys.vs_wapc_16b_invoke_ratio <= 0.2 };
    }
    rows[rows.length - 5].target = { text: "bus < 1x Extism", met: keys[`vs_extism_${tag}_ratio`] < 1 };
    rows[rows.length - 1].target = { text: "bus < 1x Extism", met: keys[`vs_extism_${tag}_invoke_ratio`] < 1 };
  }
  return { rows, keys };
}
