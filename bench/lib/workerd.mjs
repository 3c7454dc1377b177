// What the benches that run workerd itself share (sections 7 cpu and 8 snapshot, session-fanout.mjs): a Worker bundled by
// wrangler as it deploys, a free port on 127.0.0.1, the workerd binary serving a config
// until it answers (no Miniflare, no wrangler dev proxy in front), and the CPU time its process spent.
import { execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { root } from "./paths.mjs";

/** The Worker of `wranglerToml` as `wrangler deploy` bundles it, into `dir` (emptied first). */
export function bundleWorker(dir, wranglerToml) {
  rmSync(dir, { recursive: true, force: true });
  execFileSync(process.execPath, [join(root, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", dir, "-c", wranglerToml], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    stdio: ["ignore", "ignore", "inherit"],
    timeout: 120_000,
  });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * workerd serving `config` from `dir`, once `ready()` is true (within `upMs`, 30 s; it throws,
 * with the last lines workerd wrote, when not). `child` is the process; `what` names the section
 * in errors. `under` runs the binary under another program (valgrind and its arguments), whose
 * process `child` then is.
 */
export async function serveWorkerd(dir, config, ready, what, { under = [], upMs = 30_000 } = {}) {
  const workerd = await import("workerd"); // the binary's path, as the package's default export
  const bin = workerd.default?.default ?? workerd.default;
  const [command, ...args] = [...under, bin, "serve", config];
  const child = spawn(command, args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  const until = Date.now() + upMs;
  for (;;) {
    try {
      if (await ready()) return child;
    } catch {
      // not up yet
    }
    if (Date.now() > until) {
      child.kill("SIGKILL");
      throw new Error(`${what}: workerd did not come up: ${stderr.trim().split("\n").slice(-3).join(" / ")}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** CPU time of every thread of a process, in ns (the schedstat of each of its tasks in /proc). */
export function cpuNs(pid) {
  let total = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // a thread that ended meanwhile
    }
  }
  return total;
}

const CLASSES = ["BusProcess", "BusSession", "BusStore"];

/**
 * The project's Worker in a workerd config, as the constant `name`: its bundle (index.js and its
 * .wasm modules, in `dir`'s folder `at`), wrangler.toml's bindings, and its three Durable Object
 * classes on SQLite (uniqueKey `${key}-<class>`), stored in the disk service `storage`. Written
 * here once for every bench that serves it, so each runs the same Worker wrangler.toml declares.
 */
export function busWorker(name, { dir, at = "", key, storage }) {
  const path = (f) => (at ? `${at}/${f}` : f);
  const wasm = readdirSync(join(dir, at)).filter((f) => f.endsWith(".wasm"));
  return `const ${name} :Workerd.Worker = (
  modules = [
    (name = "index.js", esModule = embed "${path("index.js")}"),
${wasm.map((f) => `    (name = "${f}", wasm = embed "${path(f)}"),`).join("\n")}
  ],
  compatibilityDate = "2026-11-01",
  bindings = [
    (name = "PROCESSES", durableObjectNamespace = "BusProcess"),
    (name = "SESSIONS", durableObjectNamespace = "BusSession"),
    (name = "STORES", durableObjectNamespace = "BusStore"),
    (name = "PROCESS_RETENTION_MS", text = "3600000"),
  ],
  durableObjectNamespaces = [
${CLASSES.map((c) => `    (className = "${c}", uniqueKey = "${key}-${c}", enableSql = true),`).join("\n")}
  ],
  durableObjectStorage = (localDisk = "${storage}"),
);`;
}
