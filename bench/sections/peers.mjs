// 2. The same echo on the nearest peers, in this Node process: @wapc/host
// (a waPC guest calling __host_call) and @extism/extism (a plug-in calling a
// host function), against this runtime's core on the same guest logic. All
// three guests are hand-written WAT with the same fixed buffers
// (bench/guests/{bus,wapc,extism}-echo), raw bytes, unmetered, one instance
// kept for the whole run.
//
// Two workloads, both reported:
//  A. round trip: the guest sends the payload to the host's echo and has the
//     reply in its memory; k per batch. The bus on ABI v2 (call_now: a loop
//     inside one invocation, as the peers' synchronous ABIs allow, the guest
//     bench/guests/bus-echo-now) is the row the targets hold; ABI v1 (chained
//     from wasm_bus_finish, bench/guests/bus-echo) is shown beside it.
//  B. invoke with one host call: the host hands the guest the payload, the
//     guest echoes it through one host call and answers with the reply
//     (bus: an inbound call on a live instance; waPC: host.invoke; Extism:
//     plugin.call). Also the bus's per-request path, a fresh instance per call.
import { createRequire } from "node:module";
import { accept, assertNoProblems, core, dispatch, makeRuntime, payload, sameBytes, SIZES, wasm, withCount } from "../lib/bus.mjs";
import { guest } from "../lib/paths.mjs";
import { measure, ratio } from "../lib/stats.mjs";
import { atMost, below } from "../lib/targets.mjs";
import { readFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const { instantiate: wapcInstantiate } = require("@wapc/host");
const { default: createPlugin } = await import("@extism/extism");

export async function run({ samples, targetMs }) {
  const runtime = makeRuntime();
  const bus = core.Guest.create(runtime.modules.get("bench-echo"), runtime, {});
  const now = core.Guest.create(runtime.modules.get("bench-now"), runtime, {});

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
    check("call_now loop", (await accept(now, "bench-now", "bench", 0, withCount(3, data))).data);
    check("call_now once", (await accept(now, "bench-now", "once", 0, data)).data);
    check("call_now per-request", (await dispatch(runtime, "bench-now", "once", 0, data)).data);
    check("wapc bench", await wapc.invoke("bench", withCount(3, data)));
    check("wapc echo", await wapc.invoke("echo", data));
    check("extism bench", (await extism.call("bench", withCount(3, data))).bytes());
    check("extism echo", (await extism.call("echo", data)).bytes());

    const repeat = (fn) => async (k) => {
      for (let i = 0; i < k; i++) await fn();
    };
    const m = await measure(
      {
        busNow: (k) => accept(now, "bench-now", "bench", 0, withCount(k, data)),
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
        busOnce: repeat(() => accept(now, "bench-now", "once", 0, data)),
        busOnceV1: repeat(() => accept(bus, "bench-echo", "once", 0, data)),
        busFresh: repeat(() => dispatch(runtime, "bench-now", "once", 0, data)),
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
    const tag = { 16: "16b", 1024: "1kib", 65536: "64kib" }[size];
    const vsWapc = ratio(m.busNow, m.wapcLoop);
    const vsExtism = ratio(m.busNow, m.extismLoop);
    const A = `2A. echo round trip, ${sizeName}`;
    rows.push({ section: A, name: "this runtime, ABI v2 call_now (bus, Node)", ns: m.busNow.ns });
    rows.push({ section: A, name: "this runtime, ABI v1 call + wasm_bus_finish", ns: m.busChain.ns, vs: "call_now", ratio: ratio(m.busChain, m.busNow) });
    rows.push({
      section: A, name: "@wapc/host", ns: m.wapcLoop.ns, vs: "bus", ratio: vsWapc, ratioLabel: "bus / peer",
      target: size === 65536 ? atMost(vsWapc, 0.5, "bus <= 0.5x waPC") : atMost(vsWapc, 0.8, "bus <= 0.8x waPC"),
    });
    rows.push({ section: A, name: "  v1 / waPC", ratio: ratio(m.busChain, m.wapcLoop), ratioLabel: "bus v1 / peer" });
    rows.push({ section: A, name: "@extism/extism", ns: m.extismLoop.ns, vs: "bus", ratio: vsExtism, ratioLabel: "bus / peer", target: below(vsExtism, 1, "bus < 1x Extism") });
    const B = `2B. invoke with one host call, ${sizeName}`;
    const invokeExtism = ratio(m.busOnce, m.extismOnce);
    rows.push({ section: B, name: "this runtime, live instance (call_now)", ns: m.busOnce.ns });
    rows.push({ section: B, name: "this runtime, live instance, ABI v1", ns: m.busOnceV1.ns, vs: "call_now", ratio: ratio(m.busOnceV1, m.busOnce) });
    rows.push({ section: B, name: "this runtime, fresh instance per call", ns: m.busFresh.ns, vs: "live", ratio: ratio(m.busFresh, m.busOnce) });
    rows.push({ section: B, name: "@wapc/host", ns: m.wapcOnce.ns, vs: "bus live", ratio: ratio(m.busOnce, m.wapcOnce), ratioLabel: "bus / peer" });
    rows.push({ section: B, name: "@extism/extism", ns: m.extismOnce.ns, vs: "bus live", ratio: invokeExtism, ratioLabel: "bus / peer", target: below(invokeExtism, 1, "bus < 1x Extism") });

    keys[`vs_wapc_${tag}_ratio`] = vsWapc;
    keys[`vs_wapc_${tag}_v1_ratio`] = ratio(m.busChain, m.wapcLoop);
    keys[`vs_extism_${tag}_ratio`] = vsExtism;
    keys[`vs_wapc_${tag}_invoke_ratio`] = ratio(m.busOnce, m.wapcOnce);
    keys[`vs_extism_${tag}_invoke_ratio`] = invokeExtism;
  }
  return { rows, keys };
}
