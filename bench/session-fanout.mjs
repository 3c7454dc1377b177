// One chat post fanned out to the members of a real session (durable-objects/bus-session.ts) in
// workerd: this tree's Worker against another commit's, each bundled by wrangler as it deploys,
// both served by one workerd on ports of their own, their posts taking turns.
//
//   node bench/session-fanout.mjs [ref] [--members=64] [--samples=21] [--posts=20] [--size=16]
//
// ref (default HEAD) is checked out as a detached worktree (removed after) with this tree's
// node_modules and build/, as bench/cpu-compare.mjs does. Each side has a room of `members`
// clients (Node `ws` sockets on 127.0.0.1, joined to chat, never acking) and a room of one; member
// 0 posts and waits for its reply and every member's callback. The cost is workerd's CPU (every
// thread: lib/workerd.mjs cpuNs) per post, and per member: (a post to the room - a post to the room
// of one) / (members - 1). Each timed batch of `posts` follows an untimed one of 2; the ratio is
// the median of the per-sample ratios (this tree / ref). The socket I/O to the clients is in the
// count, on loopback: bench/chat-fanout.mjs is the runtime's part alone.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { out, root } from "./lib/paths.mjs";
import { median } from "./lib/stats.mjs";
import { bundleWorker, busWorker, cpuNs, freePort, serveWorkerd } from "./lib/workerd.mjs";

const require = createRequire(import.meta.url);
const WebSocket = require("ws");
const { pack, unpack } = require("msgpackr");
const arg = (name, dflt) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const ref = process.argv.slice(2).find((a) => !a.startsWith("--")) ?? "HEAD";
const MEMBERS = Number(arg("members", "64"));
const SAMPLES = Number(arg("samples", "21"));
const POSTS = Number(arg("posts", "20"));
const TEXT = "x".repeat(Number(arg("size", "16")));
const enc = new TextEncoder();

const dir = join(out, "session-fanout");
const tree = join(out, "session-fanout-tree");
rmSync(dir, { recursive: true, force: true });
rmSync(tree, { recursive: true, force: true }); // a tree a stopped run left behind
execFileSync("git", ["worktree", "prune"], { cwd: root });
execFileSync("git", ["worktree", "add", "--detach", tree, ref], { cwd: root, stdio: "ignore" });


/** A member of room `room` on `port`, joined; `onCallback` hears each callback it gets. */
async function member(port, room, i, onCallback) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/bus/chat/${room}`);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const waiting = new Map();
  ws.on("message", (data) => {
    const frame = unpack(data);
    if (frame.type === "callback") return onCallback();
    const w = waiting.get(frame.id);
    waiting.delete(frame.id);
    if (frame.type === "reply" && w) w.resolve();
    else (w?.reject ?? ((err) => { throw err; }))(new Error(`session-fanout: ${room} member ${i} got ${JSON.stringify(frame)}`));
  });
  let next = 1;
  const call = (topic, body, extra = {}) => {
    const id = next++;
    const answered = new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
    ws.send(pack({ type: "call", id, topic, format: "json", payload: enc.encode(JSON.stringify(body)), ...extra }));
    return answered;
  };
  await call("join", { name: `m${i}` }, { keepalive: true });
  return { ws, post: (text) => call("post", { text }, { parent: 1 }) };
}

/** A room of `n` members; `posts(k)` posts k times, each once every member has its callback. */
async function room(port, name, n) {
  let received = 0;
  let want = 0;
  let wake;
  const members = [];
  for (let i = 0; i < n; i++) members.push(
      await member(port, name, i, () => {
        if (++received >= want) wake?.();
      }),
    );
  return {
    members,
    async posts(k) {
      for (let p = 0; p < k; p++) {
        want = received + n;
        const all = new Promise((resolve) => (wake = resolve));
        await members[0].post(TEXT);
        if (received < want) {
          let timer;
          await Promise.race([all, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`session-fanout: ${name}: ${want - received} callbacks missing`)), 10_000)))]);
          clearTimeout(timer);
        }
      }
    },
  };
}

let child;
// A frame the bench did not expect throws from a socket's handler: workerd goes with the process.
process.on("exit", () => child?.kill("SIGKILL"));
try {
  symlinkSync(join(root, "node_modules"), join(tree, "node_modules"));
  if (existsSync(join(root, "build"))) cpSync(join(root, "build"), join(tree, "build"), { recursive: true });
  bundleWorker(join(dir, "tree"), join(root, "wrangler.toml"));
  bundleWorker(join(dir, "ref"), join(tree, "wrangler.toml"));
  const sides = ["tree", "ref"];
  const ports = { tree: await freePort(), ref: await freePort() };
  for (const side of sides) mkdirSync(join(dir, `state-${side}`));
  writeFileSync(join(dir, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ ${sides.map((s) => `(name = "${s}", worker = .${s}), (name = "state-${s}", disk = (path = ${JSON.stringify(join(dir, `state-${s}`))}, writable = true))`).join(", ")} ],
  sockets = [ ${sides.map((s) => `(name = "${s}", address = "127.0.0.1:${ports[s]}", http = (), service = "${s}")`).join(", ")} ],
);
${sides.map((s) => busWorker(s, { dir, at: s, key: `session-fanout-${s}`, storage: `state-${s}` })).join("\n")}
`);
  const up = async () => (await Promise.all(sides.map((s) => fetch(`http://127.0.0.1:${ports[s]}/modules`)))).every((r) => r.ok);
  child = await serveWorkerd(dir, join(dir, "config.capnp"), up, "session-fanout");
  const big = {};
  const one = {};
  for (const side of sides) {
    big[side] = await room(ports[side], `big-${side}`, MEMBERS);
    one[side] = await room(ports[side], `one-${side}`, 1);
  }
  /** us of workerd's CPU per post, over `POSTS` of them after 2 untimed. */
  const timed = async (r) => {
    await r.posts(2);
    const before = cpuNs(child.pid);
    await r.posts(POSTS);
    return (cpuNs(child.pid) - before) / POSTS / 1000;
  };
  const post = { tree: [], ref: [] };
  const perMember = { tree: [], ref: [] };
  for (let s = 0; s < SAMPLES; s++) {
    for (const side of s % 2 ? [...sides].reverse() : sides) {
      const tBig = await timed(big[side]);
      const tOne = await timed(one[side]);
      post[side].push(tBig);
      perMember[side].push((tBig - tOne) / (MEMBERS - 1));
    }
  }
  const ratio = (xs) => median(xs.tree.map((x, i) => x / xs.ref[i])).toFixed(3);
  console.log(`workerd CPU, us (median of ${SAMPLES} samples of ${POSTS} posts to ${MEMBERS} members): per post this tree ${median(post.tree).toFixed(0)}, ${ref} ${median(post.ref).toFixed(0)}; per member this tree ${median(perMember.tree).toFixed(2)}, ${ref} ${median(perMember.ref).toFixed(2)}`);
  console.log(`this tree / ${ref}: per post ${ratio(post)}, per member ${ratio(perMember)}`);
  for (const side of sides) for (const r of [big[side], one[side]]) for (const m of r.members) m.ws.terminate();
} finally {
  child?.kill("SIGKILL");
  execFileSync("git", ["worktree", "remove", "--force", tree], { cwd: root, stdio: "ignore" });
}
