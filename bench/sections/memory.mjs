// 6. Memory: how many concurrent sleeping `fetcher` calls (modules/fetcher:
// time.now, time.sleep delayMs through the bus, then http.fetch of a URL) one
// isolate holds inside 128 MB.
//
// Method: the runtime core in this Node process (run with --expose-gc) serves
// N = 10,000 calls at once, as modules/fetcher/module.json says (instances:
// "shared", so one instance holds them all), each sleeping until 20-30 s after
// the first one started (staggered over 10 s: Node's fetch does about 1,500
// requests/s here, and a burst past that resets connections) before fetching
// from a server on 127.0.0.1. The bench raises fetcher's
// limits.callTimeoutMs from 10 s to 45 s: the timeout is not what is measured.
// Once all N are asleep, after a full GC, the memory they hold is the growth
// of V8's heap (heapUsed) plus its external memory (external: Wasm memories
// are counted there in full, as workerd counts them against the isolate's
// limit), divided by N. 128 MB, less what the isolate held before the calls,
// divided by that, is how many fit: an extrapolation, since Node has no single
// cap over heap and Wasm memory (its --max-old-space-size caps the JS heap
// only). Then every call must finish with status 200 and have slept at least
// its delay: "without error".
import { spawn } from "node:child_process";
import { assertNoProblems, dispatch, makeRuntime, projectModule } from "../lib/bus.mjs";

/** A 16-byte answer on 127.0.0.1; prints its port. */
const SERVER = `
  const server = require("node:http").createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/octet-stream" });
    res.end("0123456789abcdef");
  });
  // Longer than the run: a socket the server closes while the client reuses it fails that fetch.
  server.keepAliveTimeout = 120000;
  server.headersTimeout = 121000;
  server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, () => console.log(server.address().port));
`;

const MB = 1 << 20;
const LIMIT = 128 * MB;
const used = async () => {
  // Wasm memories and array buffers are freed after their GC, some on a background thread: collect until it settles.
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  const m = process.memoryUsage();
  return { js: m.heapUsed, external: m.external, rss: m.rss };
};
const tick = () => new Promise((r) => setTimeout(r, 50));

/**
 * Starts n calls; call i sleeps until `wakeMs` after the first was started, plus
 * i % spreadMs ms (so the fetches spread out), however long starting them all
 * takes. Measures once all are asleep, then waits for every reply.
 */
async function hold({ n, start, wakeMs, spreadMs }) {
  let finished = 0;
  let failed = 0;
  const firstErrors = [];
  const before = await used();
  const t0 = Date.now();
  const calls = [];
  for (let i = 0; i < n; i++) {
    const delay = wakeMs - (Date.now() - t0) + (i % spreadMs);
    calls.push(
      start(delay).then(
        (reply) => {
          finished++;
          const body = JSON.parse(new TextDecoder().decode(reply.data));
          if (body.status !== 200 || body.sleptMs < delay - 5) throw new Error(`unexpected reply ${JSON.stringify(body)} for a ${delay} ms sleep`);
        },
        (err) => {
          finished++;
          throw err;
        },
      ).catch((err) => {
        failed++;
        if (firstErrors.length < 3) firstErrors.push(String(err?.message ?? err));
      }),
    );
  }
  const dispatchMs = Date.now() - t0;
  for (let i = 0; i < 4; i++) await tick(); // every call reaches its sleep
  const during = await used();
  const asleep = n - finished;
  const heldMs = Date.now() - t0;
  await Promise.all(calls);
  if (heldMs >= wakeMs || asleep !== n) {
    throw new Error(`memory: dispatching ${n} calls took ${dispatchMs} ms and measuring them ${heldMs - dispatchMs} ms more, past the first wake-up: the measurement is not of sleeping calls (${asleep} asleep)`);
  }
  return {
    n, asleep, failed, firstErrors, dispatchMs, heldMs,
    perCall: (during.js - before.js + during.external - before.external) / n,
    perCallJs: (during.js - before.js) / n,
    perCallExternal: (during.external - before.external) / n,
    perCallRss: (during.rss - before.rss) / n,
    baseline: before.js + before.external,
  };
}

export async function run({ quick }) {
  // The server runs in a process of its own: in this one it would share the event loop with
  // 10,000 calls and their fetches, and connects would time out on its side, not the bus's.
  const server = spawn(process.execPath, ["-e", SERVER], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve, reject) => {
    server.stdout.once("data", (d) => resolve(Number(String(d).trim())));
    server.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  // The guest sees only FetchFailed (4): keep the first underlying errors to report.
  const fetchErrors = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = (...args) =>
    realFetch(...args).catch((err) => {
      if (fetchErrors.length < 3) fetchErrors.push(`${err.message}: ${err.cause?.code ?? err.cause?.message ?? ""}`);
      throw err;
    });
  const url = `http://127.0.0.1:${port}/`;
  const fetcher = projectModule("fetcher");
  if (!fetcher) throw new Error("build/modules/fetcher.wasm is missing: run `npm run build`");
  // Neither the timeout nor the handle table is what is measured: each sleeping call holds two
  // handles (its inbound call and its sleep): the default limits.maxHandles (4,096, since the
  // limits landed after the recorded runs) would stop the run at 2,048 calls, so it is set here
  // whatever fetcher's module.json says (45,000 now).
  fetcher.manifest = { ...fetcher.manifest, limits: { ...fetcher.manifest.limits, callTimeoutMs: 45_000, maxHandles: 2 * 10_000 + 1024 } };
  const runtime = makeRuntime({ fetcher });
  const request = (delayMs) => new TextEncoder().encode(JSON.stringify({ url, delayMs }));
  try {
    // warm up: compile and tier up the paths once
    await Promise.all(Array.from({ length: 50 }, () => dispatch(runtime, "fetcher", "fetch", 1, request(1))));

    const n = 10_000;
    const perInstance = await hold({ n, wakeMs: 20_000, spreadMs: 10_000, start: (delay) => dispatch(runtime, "fetcher", "fetch", 1, request(delay)) });
    assertNoProblems("memory");

    const fits = (r) => Math.floor((LIMIT - r.baseline) / r.perCall);
    const section = "6. memory, concurrent sleeping fetcher calls";
    const kib = (b) => b / 1024;
    const rows = [
      { section, name: `calls held at once in Node (instances: ${fetcher.manifest.instances ?? "pooled"}): ${perInstance.asleep} asleep, ${perInstance.failed} failed`, value: perInstance.n - perInstance.failed, unit: "calls" },
      { section, name: `  starting them all (dispatch, every call to its sleep)`, value: perInstance.dispatchMs, unit: "ms" },
      { section, name: "  memory per sleeping call (V8 heap + external incl. Wasm memory)", value: kib(perInstance.perCall), unit: "KiB" },
      { section, name: "    of which Wasm memory and other external", value: kib(perInstance.perCallExternal), unit: "KiB" },
      { section, name: "    of which JS heap", value: kib(perInstance.perCallJs), unit: "KiB" },
      { section, name: "    resident (RSS) per call, for comparison", value: kib(perInstance.perCallRss), unit: "KiB" },
      { section, name: `  fit in a 128 MB isolate (after ${(perInstance.baseline / MB).toFixed(1)} MB held before)`, value: fits(perInstance), unit: "calls", target: { text: ">= 10,000 without error", met: fits(perInstance) >= 10_000 && perInstance.failed === 0 } },
    ];
    if (perInstance.failed) rows.push({ section, name: `  first errors: ${perInstance.firstErrors.join(" | ")}${fetchErrors.length ? `; fetch: ${fetchErrors.join(" | ")}` : ""}` });
    const keys = {
      concurrent_sleeps_held: fits(perInstance),
      concurrent_sleeps_run_ok: perInstance.n - perInstance.failed,
      concurrent_sleep_bytes_per_call: perInstance.perCall,
    };
    void quick;
    return { rows, keys };
  } finally {
    server.kill();
    globalThis.fetch = realFetch;
  }
}
