// 1. Bus round trip: a guest calls os echo.echo and gets the reply through
// wasm_bus_finish, 16 B / 1 KiB / 64 KiB, raw / json / msgpack; baseline: a
// raw Wasm import that copies the same bytes out and back in.
//
// Method: the guest (bench/guests/bus-echo) chains k round trips itself: each
// wasm_bus_finish starts the next call with the bytes it was just given, as a
// real guest continues its work from a result. The host sends one inbound call
// ("bench", k) to a live instance and awaits its reply; time / k is one round
// trip. The one inbound call and its reply are amortised over k (k is picked so
// a batch takes targetMs, ~15,000 round trips at 16 B; the inbound call costs
// about 5 us, so it adds under 0.5 ns to each).
//
// ABI v2 (call_now): the same round trips from bench/guests/bus-echo-now, a loop of call_now
// inside one entry as waPC's guest loops over __host_call (each reply comes back into a result
// buffer during the import and is the next request); and, from the same guest, the same loop
// to topic "echo" of another module (bench-peer: the same guest, an idle pooled instance that
// replies inside wasm_bus_start): a module-to-module call, held against the built-in echo.
import { accept, assertNoProblems, core, FORMATS, makeRuntime, payload, sameBytes, SIZES, wasm, withCount } from "../lib/bus.mjs";
import { minimalHost } from "../lib/minimal-host.mjs";
import { guest } from "../lib/paths.mjs";
import { measure, ratio } from "../lib/stats.mjs";
import { atMost } from "../lib/targets.mjs";

export async function run({ samples, targetMs }) {
  const runtime = makeRuntime();
  const plain = core.Guest.create(runtime.modules.get("bench-echo"), runtime, {});
  const metered = core.Guest.create(runtime.modules.get("bench-echo-metered"), runtime, {});
  const now = core.Guest.create(runtime.modules.get("bench-now"), runtime, {});

  // The baseline: one import call per round trip, copying len bytes out of
  // guest memory into a host buffer and back in, with a bounds check: the
  // physical limit of moving the payload across the boundary and back. (The
  // bus must also allocate a fresh buffer per request, since a request
  // outlives the import; a copy-out through view.slice() does that too but
  // leaves garbage that slows whichever batch runs next, so the baseline uses
  // a preallocated buffer.)
  let memory;
  let view = new Uint8Array(0);
  const scratch = new Uint8Array(1 << 17);
  const raw = new WebAssembly.Instance(wasm(guest("raw-echo")), {
    bench: {
      echo(ptr, len, to) {
        if (view.buffer !== memory.buffer) view = new Uint8Array(memory.buffer);
        if ((ptr >>> 0) + (len >>> 0) > view.length || (to >>> 0) + (len >>> 0) > view.length) return -1;
        scratch.set(view.subarray(ptr, ptr + len));
        view.set(scratch.subarray(0, len), to);
        return len;
      },
    },
  });
  memory = raw.exports.memory;
  // The ABI's own floor: the same guest on a host that does only what the ABI requires (lib/minimal-host.mjs).
  const floor = minimalHost(wasm(guest("bus-echo")));

  const rows = [];
  const keys = {};
  for (const [sizeName, size] of Object.entries(SIZES)) {
    const payloads = Object.fromEntries(Object.keys(FORMATS).map((f) => [f, payload(f, size)]));
    const chain = (instance, module, format) => (k) =>
      accept(instance, module, "bench", FORMATS[format], withCount(k, payloads[format]));

    // Same bytes come back, on every path.
    for (const format of Object.keys(FORMATS)) {
      const reply = await chain(plain, "bench-echo", format)(3);
      if (!sameBytes(reply.data, payloads[format]) || reply.format !== FORMATS[format]) throw new Error(`bus echo ${format} ${sizeName}: wrong reply`);
    }
    if (!sameBytes((await chain(metered, "bench-echo-metered", "raw")(3)).data, payloads.raw)) throw new Error("metered echo: wrong reply");
    const loop = (topic) => (k) => accept(now, "bench-now", topic, 0, withCount(k, payloads.raw));
    for (const topic of ["bench", "bench-module"]) {
      if (!sameBytes((await loop(topic)(3)).data, payloads.raw)) throw new Error(`call_now ${topic} ${sizeName}: wrong reply`);
    }
    if (!sameBytes((await floor.call(0, withCount(3, payloads.raw))).data, payloads.raw)) throw new Error("minimal host echo: wrong reply");
    new Uint8Array(memory.buffer).set(payloads.raw, 1024);
    const rawOut = raw.exports.run(1, 1024, size);
    if (!sameBytes(new Uint8Array(memory.buffer, rawOut, size), payloads.raw)) throw new Error("raw import echo: wrong copy");

    const m = await measure(
      {
        raw: (k) => raw.exports.run(k, 1024, size),
        floor: (k) => floor.call(0, withCount(k, payloads.raw)),
        busRaw: chain(plain, "bench-echo", "raw"),
        busJson: chain(plain, "bench-echo", "json"),
        busMsgpack: chain(plain, "bench-echo", "msgpack"),
        busMetered: chain(metered, "bench-echo-metered", "raw"),
        busNow: loop("bench"),
        moduleNow: loop("bench-module"),
      },
      { samples, targetMs },
    );
    assertNoProblems(`round trip ${sizeName}`);
    const section = `1. bus round trip, ${sizeName}`;
    rows.push({ section, name: "raw Wasm import, copy out + in (baseline)", ns: m.raw.ns });
    rows.push({ section, name: "ABI floor: same guest, minimal host (lib/minimal-host.mjs)", ns: m.floor.ns, vs: "raw import", ratio: ratio(m.floor, m.raw) });
    const target =
      size === 16 ? { text: "<= 250 ns and <= 10x raw import (v1)", met: m.busRaw.ns <= 250 && ratio(m.busRaw, m.raw) <= 10, margin: Math.min(250 / m.busRaw.ns, 10 / ratio(m.busRaw, m.raw)) }
      : size === 65536 ? atMost(m.busRaw.ns, 15000, "<= 15 us")
      : undefined;
    for (const [key, label] of [["busRaw", "raw"], ["busJson", "json"], ["busMsgpack", "msgpack"]]) {
      rows.push({ section, name: `bus echo.echo, ${label}`, ns: m[key].ns, vs: "raw import", ratio: ratio(m[key], m.raw), ...(key === "busRaw" && target ? { target } : {}) });
    }
    rows.push({ section, name: "bus echo.echo, raw, fuel-metered guest", ns: m.busMetered.ns, vs: "raw import", ratio: ratio(m.busMetered, m.raw) });
    rows.push({ section, name: "  metered / unmetered", ratio: ratio(m.busMetered, m.busRaw), vs: "bus raw" });
    rows.push({ section, name: "  runtime / ABI floor (raw)", ratio: ratio(m.busRaw, m.floor), vs: "floor" });
    const v2Raw = ratio(m.busNow, m.raw);
    rows.push({
      section, name: "bus echo.echo, raw, ABI v2 call_now (answered inside the import)", ns: m.busNow.ns, vs: "raw import", ratio: v2Raw,
      ...(size === 16 ? { target: atMost(v2Raw, 5, "<= 5x raw import") } : {}),
    });
    rows.push({ section, name: "  call_now / v1 call + wasm_bus_finish", ratio: ratio(m.busNow, m.busRaw), vs: "bus raw" });
    const moduleRatio = ratio(m.moduleNow, m.busNow);
    rows.push({
      section, name: "module-to-module, call_now (another module's echo topic)", ns: m.moduleNow.ns, vs: "echo call_now", ratio: moduleRatio,
      ...(size === 16 ? { target: atMost(moduleRatio, 2, "<= 2x the built-in echo (call_now)") } : {}),
    });
    rows.push({ section, name: "  module-to-module (call_now) / built-in echo through v1", ratio: ratio(m.moduleNow, m.busRaw), vs: "bus raw" });

    if (size === 16) {
      keys.bus_roundtrip_16b_ns = m.busRaw.ns;
      keys.raw_import_16b_ns = m.raw.ns;
      keys.bus_roundtrip_16b_metered_ns = m.busMetered.ns;
      keys.bus_vs_raw_import_16b_ratio = ratio(m.busRaw, m.raw);
      keys.abi_floor_16b_ns = m.floor.ns;
      keys.bus_vs_abi_floor_16b_ratio = ratio(m.busRaw, m.floor);
      keys.bus_roundtrip_v2_16b_ns = m.busNow.ns;
      keys.bus_v2_vs_raw_import_16b_ratio = v2Raw;
      keys.module_call_16b_ns = m.moduleNow.ns;
      keys.module_call_16b_ratio = moduleRatio;
      keys.module_call_vs_v1_echo_16b_ratio = ratio(m.moduleNow, m.busRaw);
    }
    if (size === 65536) {
      keys.bus_roundtrip_64kib_us = m.busRaw.ns / 1000;
      keys.raw_import_64kib_us = m.raw.ns / 1000;
      keys.bus_roundtrip_v2_64kib_us = m.busNow.ns / 1000;
      keys.module_call_64kib_ratio = moduleRatio;
    }
    if (size === 1024) {
      keys.bus_roundtrip_1kib_ns = m.busRaw.ns;
      keys.bus_roundtrip_v2_1kib_ns = m.busNow.ns;
      keys.module_call_1kib_ratio = moduleRatio;
    }
  }
  return { rows, keys };
}
