#!/usr/bin/env node
// The ABI's floor for the module-to-module target (section 1's `module_call_16b_ratio`): the
// same guest (bench/guests/bus-echo-now) making the same `call_now` round trips, to the built-in
// echo and to another instance's `echo` topic, on a host that does only what the ABI requires
// (bounds checks, the request copied into the callee through its wasm_bus_malloc, the reply
// copied into the caller's result buffer, the out record) and nothing else: no BusCall, no
// routes, no handle table, no pool. What the runtime's ratio has above this one is its
// bookkeeping. docs/performance.md ("Third pass") quotes a run.
//
//   node bench/floor-module-call.mjs      (after `npm run bench -- --only=roundtrip` built bench/.out)
import { readFileSync } from "node:fs";
import { payload, withCount } from "./lib/bus.mjs";
import { guest } from "./lib/paths.mjs";
import { measure, median, ratio } from "./lib/stats.mjs";

const module = new WebAssembly.Module(readFileSync(guest("bus-echo-now")));
const utf8 = new TextEncoder();
const ECHO = utf8.encode("echo");

/** One instance on the minimal host; `peer` (another instance) serves its calls to module topics. */
function instance(peer) {
  let exports;
  let view = new Uint8Array(0);
  const bytes = () => (view.length === 0 ? (view = new Uint8Array(exports.memory.buffer)) : view);
  let onReply;
  const self = {
    /** Where a reply goes while a caller waits in call_now: set by the caller. */
    replyTo: undefined,
    bytes,
    exports: undefined,
    /** One inbound call from the host, as the bench sends it: resolves with the reply. */
    call(topic, data) {
      return new Promise((resolve) => {
        onReply = resolve;
        const t = utf8.encode(topic);
        const ptr = exports.wasm_bus_malloc(t.length + data.length);
        bytes().set(t, ptr);
        bytes().set(data, ptr + t.length);
        exports.wasm_bus_start(0, 1, 0, ptr, t.length, ptr + t.length, data.length);
      });
    },
  };
  const imports = {
    "wasm-bus": {
      listen: () => 0,
      fault: () => 0,
      reply(handle, format, ptr, len) {
        const m = bytes();
        if (ptr + len > m.length) return 22;
        if (self.replyTo) self.replyTo(m.subarray(ptr, ptr + len));
        else onReply({ format, data: m.slice(ptr, ptr + len) });
        return 0;
      },
      call_now(parent, handle, keepalive, format, wapmPtr, wapmLen, topicPtr, topicLen, reqPtr, reqLen, resPtr, resLen, outPtr) {
        const m = bytes();
        if (reqPtr + reqLen > m.length || resPtr + resLen > m.length || outPtr + 20 > m.length) return 22;
        const request = m.subarray(reqPtr, reqPtr + reqLen);
        let len = reqLen;
        if (wapmLen === 2) m.set(request, resPtr); // os echo.echo
        else {
          // Another module's echo topic: the request into its memory, its reply into ours.
          const pm = peer.bytes();
          const ptr = peer.exports.wasm_bus_malloc(ECHO.length + reqLen) >>> 0;
          if (ptr === 0 || ptr + ECHO.length + reqLen > pm.length) return 20;
          pm.set(ECHO, ptr);
          pm.set(request, ptr + ECHO.length);
          peer.replyTo = (data) => {
            len = data.length;
            m.set(data, resPtr);
          };
          peer.exports.wasm_bus_start(0, 1, format, ptr, ECHO.length, ptr + ECHO.length, reqLen);
        }
        const out = new DataView(m.buffer);
        out.setUint32(outPtr, 1, true);
        out.setUint32(outPtr + 4, 0, true);
        out.setUint32(outPtr + 8, format, true);
        out.setUint32(outPtr + 12, resPtr, true);
        out.setUint32(outPtr + 16, len, true);
        return 0;
      },
    },
  };
  exports = self.exports = new WebAssembly.Instance(module, imports).exports;
  exports._initialize();
  return self;
}

const caller = instance(instance());
const data = payload("raw", 16);
const loop = (topic) => (k) => caller.call(topic, withCount(k, data));
for (const topic of ["bench", "bench-module"]) {
  const reply = await loop(topic)(3);
  if (reply.data.length !== data.length || reply.data.some((b, i) => b !== data[i])) throw new Error(`${topic}: wrong reply`);
}
const rounds = [];
for (let r = 0; r < 5; r++) {
  const m = await measure({ echo: loop("bench"), module: loop("bench-module") }, { samples: 15, targetMs: 20 });
  rounds.push({ ratio: ratio(m.module, m.echo), echo: m.echo.ns, module: m.module.ns });
}
const at = (key) => median(rounds.map((r) => r[key]));
console.log(`ABI floor, call_now 16 B: to os echo ${at("echo").toFixed(0)} ns, to another module ${at("module").toFixed(0)} ns, ratio ${at("ratio").toFixed(2)}x (median of 5 rounds)`);
