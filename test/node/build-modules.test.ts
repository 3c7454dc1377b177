/// <reference types="node" />
// Runs in Node (the "node" vitest project): scripts/build-modules.mjs for real, in a copy of the
// tree in a temporary folder (a few modules and guests, src/, the AssemblyScript SDK; node_modules
// linked), so it never races other tests or builds over the shared build/. It checks that
//   - `--served` (what `npm start` builds) skips test/guests and still writes build/test-registry.ts;
//   - a build with nothing changed rebuilds nothing and writes no file (mtimes stay);
//   - `build hello` rebuilds hello alone and the registries keep listing the rest;
//   - `wrangler dev` serving the copy keeps answering GET /modules and POST /call/hello/greet while
//     hello is edited and rebuilt, then serves the new build; meanwhile no file in build/ is written
//     in place (only renamed into place: wrangler must never read a half-written .wasm).
// WASM_BUS_BUILD_SCRIPT=<path> runs these checks against another build script (an older one).
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, watch, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "./free-port.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const script = process.env.WASM_BUS_BUILD_SCRIPT ?? join(repo, "scripts/build-modules.mjs");
/**
 * What the copy holds: the Worker's sources, the build's steps (every scripts/wasm-*.mjs), two
 * served modules (AssemblyScript, WAT) and two guests (one WAT file, two manifests).
 */
const COPY = [
  "src", "durable-objects", "sdk/assemblyscript", "wrangler.toml", "tsconfig.json", "package.json",
  ...readdirSync(join(repo, "scripts")).filter((f) => /^wasm-.*\.mjs$/.test(f)).map((f) => `scripts/${f}`),
  "scripts/module-manifest.mjs",
  "modules/hello", "modules/upcase", "test/guests/ticks", "test/guests/ticks-fresh",
];

let tree: string;
let wrangler: ChildProcess | undefined;
let wranglerLog = "";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the build script in the copy, asynchronously (a poller may run meanwhile). */
function build(...args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [join(tree, "scripts/build-modules.mjs"), ...args], { cwd: tree, timeout: 90_000 }, (err, stdout, stderr) =>
      done({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** Every file under build/ with its mtime and size. */
function snapshot(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const s = statSync(p);
        files.set(relative(join(tree, "build"), p), `${s.mtimeMs} ${s.size}`);
      }
    }
  };
  walk(join(tree, "build"));
  return files;
}

function changed(before: Map<string, string>, after: Map<string, string>): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names].filter((n) => before.get(n) !== after.get(n)).sort();
}

const read = (path: string) => readFileSync(join(tree, path), "utf8");
const listed = (registry: string) => [...read(`build/${registry}`).matchAll(/^ {2}"([a-z0-9-]+)": /gm)].map((m) => m[1]);

beforeAll(() => {
  tree = mkdtempSync(join(tmpdir(), "wasm-bus-build-test-"));
  for (const path of COPY) cpSync(join(repo, path), join(tree, path), { recursive: true });
  mkdirSync(join(tree, "scripts"), { recursive: true });
  cpSync(script, join(tree, "scripts/build-modules.mjs"));
  symlinkSync(join(repo, "node_modules"), join(tree, "node_modules"));
  // What other build steps put in build/ for the Worker to import (build/console.ts), as it is.
  const ours = /^(registry\.ts|test-registry\.ts|fuel\.ts|fuel\.wasm|wasm\.d\.ts|signatures\.json)$/;
  if (existsSync(join(repo, "build"))) {
    for (const e of readdirSync(join(repo, "build"), { withFileTypes: true })) {
      if (e.isFile() && /\.(ts|js|mjs|json|wasm)$/.test(e.name) && !ours.test(e.name)) cpSync(join(repo, "build", e.name), join(tree, "build", e.name));
    }
  }
});

afterAll(async () => {
  if (wrangler?.pid && wrangler.exitCode === null) {
    const exited = new Promise((done) => wrangler!.once("exit", done));
    process.kill(-wrangler.pid, "SIGTERM"); // its own process group: wrangler and its workerd
    await Promise.race([exited, new Promise((done) => setTimeout(done, 5_000))]);
    if (wrangler.exitCode === null) process.kill(-wrangler.pid, "SIGKILL");
  }
  if (tree) rmSync(tree, { recursive: true, force: true });
});

describe("scripts/build-modules.mjs", () => {
  it("--served builds the served modules only, and writes an empty test registry", async () => {
    const run = await build("--served");
    expect(run.code, run.stderr).toBe(0);
    expect(listed("registry.ts")).toEqual(["hello", "upcase"]);
    expect(existsSync(join(tree, "build/test-guests/ticks.wasm"))).toBe(false);
    // test/helpers.ts imports it: TypeScript needs the file even when no guest is built.
    expect(listed("test-registry.ts")).toEqual([]);
    expect(read("build/test-registry.ts")).toContain("export const modules: Record<string, ModuleEntry> = {");
    expect(Object.keys(JSON.parse(read("build/signatures.json")))).toEqual(["modules/hello", "modules/upcase"]);
  }, 90_000);

  it("a plain build adds the test guests and leaves the served modules' files alone", async () => {
    const before = snapshot();
    const run = await build();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/up to date: hello, upcase/);
    expect(listed("test-registry.ts")).toEqual(["ticks", "ticks-fresh"]);
    const touched = changed(before, snapshot());
    expect(touched.filter((f) => f.startsWith("modules/") || f === "registry.ts" || f.startsWith("fuel."))).toEqual([]);
  }, 90_000);

  it("a build with nothing changed rebuilds nothing and writes no file, even after a touch", async () => {
    const before = snapshot();
    const now = new Date();
    utimesSync(join(tree, "modules/upcase/module.wat"), now, now); // an mtime alone is no change
    const run = await build();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/\b0 built, 4 up to date\b/);
    expect(changed(before, snapshot())).toEqual([]);
  }, 60_000);

  it("`build hello` rebuilds hello alone and the registries keep the rest", async () => {
    writeFileSync(join(tree, "modules/hello/index.ts"), `${read("modules/hello/index.ts")}\n// edited by build-modules.test.ts\n`);
    const before = snapshot();
    const run = await build("hello");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^built build\/modules\/hello\.wasm /m);
    expect(run.stdout).not.toMatch(/built build\/(modules\/upcase|test-guests)/);
    // A comment changes hello's key, not its bytes: only the key file is written.
    expect(changed(before, snapshot()).filter((f) => !/^modules\/hello\.wasm(\.key)?$/.test(f))).toEqual([]);
    expect(listed("registry.ts")).toEqual(["hello", "upcase"]);
    expect(listed("test-registry.ts")).toEqual(["ticks", "ticks-fresh"]);
  }, 90_000);

  it("an unknown module name is an error that names the known ones", async () => {
    const before = snapshot();
    const run = await build("hello", "no-such-module");
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/unknown module no-such-module/);
    expect(run.stderr).toMatch(/hello, upcase/);
    expect(run.stderr).toMatch(/ticks, ticks-fresh/);
    expect(changed(before, snapshot())).toEqual([]);
  }, 60_000);

  it("a manifest the Worker would refuse fails the build, naming the module and the field, and writes nothing", async () => {
    // The Worker parses every listed manifest when it starts: one it refuses would take every module down.
    const manifest = read("modules/hello/module.json");
    const before = snapshot();
    try {
      writeFileSync(join(tree, "modules/hello/module.json"), JSON.stringify({ ...JSON.parse(manifest), limits: { timeoutMs: 100 } }));
      let run = await build("upcase"); // not the module built: the registry lists hello's manifest all the same
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/modules\/hello\/module\.json: module hello: unknown limit "timeoutMs"/);
      writeFileSync(join(tree, "modules/hello/module.json"), '{"topics": ');
      run = await build("hello");
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/modules\/hello\/module\.json: .*JSON/);
      expect(changed(before, snapshot())).toEqual([]);
    } finally {
      writeFileSync(join(tree, "modules/hello/module.json"), manifest);
    }
  }, 60_000);

  it("wrangler dev keeps answering while a module is rebuilt, then serves the new build", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    wrangler = spawn(process.execPath, [join(repo, "node_modules/wrangler/bin/wrangler.js"), "dev", "--ip", "127.0.0.1", "--port", String(port)], {
      cwd: tree,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    });
    wrangler.stdout!.on("data", (d) => (wranglerLog += d));
    wrangler.stderr!.on("data", (d) => (wranglerLog += d));
    const alive = () => wrangler!.exitCode === null && wrangler!.signalCode === null;

    const greet = async () => {
      const res = await fetch(`${base}/call/hello/greet`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "Ada" }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`POST /call/hello/greet: ${res.status} ${body}`);
      return (JSON.parse(body) as { message: string }).message;
    };
    const modules = async () => {
      const res = await fetch(`${base}/modules`, { signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`GET /modules: ${res.status}`);
    };

    const ready = Date.now() + 60_000;
    for (;;) {
      if (!alive()) throw new Error(`wrangler dev exited:\n${wranglerLog}`);
      try {
        await modules();
        break;
      } catch (err) {
        if (Date.now() > ready) throw new Error(`wrangler dev not answering after 60 s (${String(err)}):\n${wranglerLog}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    expect(await greet()).toBe("Hello, Ada!");

    // A real change, so wrangler reloads: then ask the whole time the rebuild runs and until the new build answers.
    writeFileSync(join(tree, "modules/hello/index.ts"), read("modules/hello/index.ts").replace('"Hello, "', '"Hi, "'));
    // And watch build/: a file there must only ever be replaced whole (a rename), never written in place.
    const events: string[] = [];
    const watchers = ["build", "build/modules"].map((dir) =>
      watch(join(tree, dir), (type, name) => {
        if (name && !/^\..*\.tmp$/.test(name)) events.push(`${type} ${dir}/${name}`);
      }),
    );
    let finished: Run | undefined;
    const rebuilt = build().then((run) => (finished = run));
    const failures: string[] = [];
    const answers = new Set<string>();
    let requests = 0;
    let duringBuild = 0;
    let message = "";
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (!finished || message !== "Hi, Ada!")) {
      if (!alive()) break;
      try {
        await modules();
        message = await greet();
        answers.add(message);
      } catch (err) {
        failures.push(String(err));
      }
      requests++;
      if (!finished) duringBuild++;
      await new Promise((r) => setTimeout(r, 50));
    }
    const run = await rebuilt;
    for (const w of watchers) w.close();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^built build\/modules\/hello\.wasm /m);
    expect(events.filter((e) => !e.startsWith("rename ")), "files written in place").toEqual([]);
    expect(events).toContain("rename build/modules/hello.wasm");
    expect(alive(), `wrangler dev exited during the rebuild:\n${wranglerLog}`).toBe(true);
    expect(failures, `${failures.length} of ${requests} rounds failed:\n${wranglerLog}`).toEqual([]);
    expect(duringBuild, "rounds asked while the build ran").toBeGreaterThan(0);
    expect(message).toBe("Hi, Ada!");
    expect([...answers].every((a) => a === "Hello, Ada!" || a === "Hi, Ada!")).toBe(true);
    await modules();
  }, 120_000);
});
