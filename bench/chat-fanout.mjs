// The chat module's fan-out, per member: one post to a room of N members through the runtime
// core in Node, as a session (durable-objects/bus-session.ts) drives it, each member's callback
// packed into its WebSocket frame as the session's `send` packs it (durable-objects/frames.ts).
//
//   node bench/chat-fanout.mjs [--members=64] [--sizes=16,4096] [--formats=json,msgpack] [--samples=15]
//                              [--baseline=path/to/old-chat.wasm] [--base-core=path/to/old-core.mjs]
//
// Per member = (a post to N members - a post to 1 member) / (N - 1), both rooms in one instance
// of their own, measured back to back in each sample, so drift hits both alike. With --baseline,
// that build of the chat module runs beside build/modules/chat.wasm in the same way, and the ratio
// of their per-member costs is the median of the per-sample ratios (lib/stats.mjs); with
// --base-core, that bundle of the runtime core (lib/build.mjs bundleCore of another tree) serves
// the baseline side.
// Needs bench/.out/core.mjs (bench/lib/build.mjs bundleCore) and build/modules/chat.wasm.
import { core, projectModule, wasm } from "./lib/bus.mjs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { root } from "./lib/paths.mjs";
import { median, now } from "./lib/stats.mjs";

const arg = (name, dflt) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const MEMBERS = Number(arg("members", "64"));
const SIZES = arg("sizes", "16,4096").split(",").map(Number);
const FORMATS = arg("formats", "json,msgpack").split(",");
const SAMPLES = Number(arg("samples", "15"));
const POSTS = Number(arg("posts", "20"));
const baselineFile = arg("baseline", undefined);

const chat = projectModule("chat");
if (!chat) throw new Error("build/modules/chat.wasm is not built: node scripts/build-modules.mjs chat");
const baseCore = arg("base-core", undefined);
const problems = [];

/** One side of the comparison: a runtime over `c` (a bundle of the core) serving `entry` as chat. */
function side(c, entry) {
  // One room per instance (the module keeps one member list), one instance per module name: each
  // room is the module under a name of its own.
  const registry = {};
  for (const format of FORMATS) for (const size of SIZES) for (const solo of ["", "-solo"]) registry[`chat-${format}-${size}${solo}`] = entry;
  const runtime = new c.Runtime(registry, {
    fuel: wasm(join(root, "build/fuel.wasm")),
    log: (line) => (line.level === "warn" || line.level === "error") && problems.push(line),
  });
  return { core: c, runtime, packr: new c.Packr({ useRecords: false, mapsAsObjects: true }) };
}
const sides = { chat: side(core, chat) };
if (baselineFile || baseCore) {
  const c = baseCore ? await import(pathToFileURL(resolve(baseCore)).href) : core;
  sides["chat-base"] = side(c, baselineFile ? { ...chat, wasm: wasm(baselineFile) } : chat);
}
const FORMAT = { json: core.Format.Json, msgpack: core.Format.Msgpack };
const enc = new TextEncoder();

/** A room: its own pinned instance of `module` and `n` members joined with `format`. */
async function room({ core, runtime, packr }, module, n, format) {
  const encodeAs = (v) => (format === "json" ? enc.encode(JSON.stringify(v)) : packr.pack(v).slice());
  const guest = runtime.instances.create(runtime.modules.get(module), { ephemeral: false });
  runtime.instances.pin(guest);
  const joins = [];
  let received = 0;
  for (let i = 0; i < n; i++) {
    const join = await new Promise((resolve, reject) => {
      const call = runtime.start(module, "join", { format: FORMAT[format], data: encodeAs({ name: `m${i}` }) }, {
        finish: () => resolve(call),
        fail: reject,
        callback: (topic, payload) => {
          // As the session's sink: the callback goes out as a msgpack frame.
          packr.pack({ type: "callback", id: i, topic, format: payload.format, payload: payload.data }).slice();
          received++;
          return core.Code.Success;
        },
      }, { keepalive: true, caller: "ws" });
    });
    joins.push(join);
  }
  return {
    received: () => received,
    posts: 0,
    post(text) {
      this.posts++;
      return new Promise((resolve, reject) => {
        runtime.start(module, "post", { format: FORMAT[format], data: encodeAs({ text }) }, { finish: resolve, fail: reject, callback: () => core.Code.MissingCallbacks }, { parent: joins[0], caller: "ws" });
      });
    },
  };
}

async function timePosts(r, text, k) {
  const t0 = now();
  for (let i = 0; i < k; i++) await r.post(text);
  return Number(now() - t0) / k / 1000; // us per post
}

const modules = Object.keys(sides);
const rows = [];
for (const format of FORMATS) {
  for (const size of SIZES) {
    const text = "x".repeat(size);
    const perMember = Object.fromEntries(modules.map((m) => [m, []]));
    const big = {};
    const one = {};
    for (const m of modules) {
      big[m] = await room(sides[m], `chat-${format}-${size}`, MEMBERS, format);
      one[m] = await room(sides[m], `chat-${format}-${size}-solo`, 1, format);
    }
    for (let s = 0; s < SAMPLES; s++) {
      const order = s % 2 ? [...modules].reverse() : modules;
      for (const m of order) {
        // Each timed batch follows an untimed one of its kind (lib/stats.mjs: garbage).
        await timePosts(big[m], text, 2);
        const tBig = await timePosts(big[m], text, POSTS);
        await timePosts(one[m], text, 2);
        const tOne = await timePosts(one[m], text, POSTS);
        perMember[m].push((tBig - tOne) / (MEMBERS - 1));
        if (big[m].received() !== big[m].posts * MEMBERS || one[m].received() !== one[m].posts) throw new Error(`${m}: callbacks lost`);
      }
    }
    const row = { format, size, members: MEMBERS };
    for (const m of modules) row[`${m} us/member`] = median(perMember[m]).toFixed(2);
    if (sides["chat-base"]) row["chat/base"] = median(perMember.chat.map((v, i) => v / perMember["chat-base"][i])).toFixed(3);
    rows.push(row);
  }
}
console.table(rows);
if (problems.length) throw new Error(`the runtime logged ${problems.length} problem(s), first: ${JSON.stringify(problems[0])}`);
