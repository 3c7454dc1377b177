// 3. Instantiating hello per request, as the runtime does for every call to a
// module: Guest.create (imports, the fuel meter's instance for a metered
// module, WebAssembly.Instance, _initialize) against instantiating an empty
// module. Rows in between split the cost: a module with only a 64 KiB memory
// (V8 reserving and zeroing a memory), hello through bare
// WebAssembly.Instance with stub imports (V8 alone). And the whole request:
// a greet call through runtime.dispatch on a fresh instance (instances:
// "fresh") and on a pooled one (module.json's default, "pooled").
import { assertNoProblems, core, dispatch, makeRuntime, projectModule, wasm } from "../lib/bus.mjs";
import { guest } from "../lib/paths.mjs";
import { measure, ratio } from "../lib/stats.mjs";

// The one global a module imports is the fuel meter's counter (scripts/wasm-meter.mjs): a stub
// with fuel enough that the meter is never called.
const stubImports = (module) => {
  const imports = {};
  for (const i of WebAssembly.Module.imports(module)) {
    if (i.kind === "global" && i.module === "wasm_bus_meter" && i.name === "fuel") {
      (imports[i.module] ??= {})[i.name] = new WebAssembly.Global({ value: "i64", mutable: true }, 1n << 62n);
      continue;
    }
    if (i.kind !== "function") throw new Error(`stub imports: ${i.module}.${i.name} is a ${i.kind}`);
    (imports[i.module] ??= {})[i.name] = () => 0;
  }
  return imports;
};

export async function run({ samples, targetMs }) {
  const modules = { hello: projectModule("hello"), "hello-rs": projectModule("hello-rs") };
  if (!modules.hello) throw new Error("build/modules/hello.wasm is missing: run `npm run build`");
  const present = Object.fromEntries(Object.entries(modules).filter(([, m]) => m));
  const runtime = makeRuntime(present);
  const freshRuntime = makeRuntime(
    Object.fromEntries(Object.entries(present).map(([n, m]) => [n, { ...m, manifest: { ...m.manifest, instances: "fresh" } }])),
  );
  const empty = wasm(guest("empty"));
  const emptyMemory = wasm(guest("empty-memory"));
  const greet = new TextEncoder().encode('{"name":"Ada"}');
  const expected = '{"message":"Hello, Ada!"}';

  const times = (fn) => (k) => {
    for (let i = 0; i < k; i++) fn();
  };
  const batches = {
    empty: times(() => new WebAssembly.Instance(empty, {})),
    emptyMemory: times(() => new WebAssembly.Instance(emptyMemory, {})),
  };
  const rows = [];
  const keys = { instantiate_hello_as_us: null, instantiate_hello_rs_us: null };
  const missing = [];
  for (const [name, entry] of Object.entries(modules)) {
    if (!entry) {
      missing.push(name);
      continue;
    }
    const reply = await dispatch(runtime, name, "greet", 1, greet);
    const text = new TextDecoder().decode(reply.data);
    if (JSON.stringify(JSON.parse(text)) !== expected) throw new Error(`${name} greet: unexpected reply ${text}`);
    const imports = stubImports(entry.wasm);
    const loaded = runtime.modules.get(name);
    batches[`${name}:v8`] = times(() => new WebAssembly.Instance(entry.wasm, imports));
    batches[`${name}:guest`] = times(() => core.Guest.create(loaded, runtime));
    batches[`${name}:request`] = async (k) => {
      for (let i = 0; i < k; i++) await dispatch(freshRuntime, name, "greet", 1, greet);
    };
    batches[`${name}:pooled`] = async (k) => {
      for (let i = 0; i < k; i++) await dispatch(runtime, name, "greet", 1, greet);
    };
  }
  const m = await measure(batches, { samples, targetMs });
  assertNoProblems("instantiate");

  const section = "3. instantiate per request";
  rows.push({ section, name: "empty module (baseline)", ns: m.empty.ns });
  rows.push({ section, name: "empty module with a 64 KiB memory", ns: m.emptyMemory.ns, vs: "empty", ratio: ratio(m.emptyMemory, m.empty) });
  for (const [name, label, target, key] of [
    ["hello", "hello (AssemblyScript)", 50, "instantiate_hello_as_us"],
    ["hello-rs", "hello-rs (Rust)", 100, "instantiate_hello_rs_us"],
  ]) {
    if (!modules[name]) {
      rows.push({ section, name: `${label}: MISSING, build/modules/${name}.wasm not built`, target: { text: `<= ${target} us`, met: null } });
      continue;
    }
    const g = m[`${name}:guest`];
    rows.push({ section, name: `${label}, bare WebAssembly.Instance`, ns: m[`${name}:v8`].ns, vs: "empty", ratio: ratio(m[`${name}:v8`], m.empty) });
    rows.push({ section, name: `${label}, Guest.create (the runtime's instantiation)`, ns: g.ns, vs: "empty", ratio: ratio(g, m.empty), target: { text: `<= ${target} us`, met: g.ns <= target * 1000 } });
    rows.push({ section, name: `${label}, whole greet call on a fresh instance`, ns: m[`${name}:request`].ns, vs: "Guest.create", ratio: ratio(m[`${name}:request`], g) });
    rows.push({ section, name: `${label}, whole greet call on a pooled instance (the default)`, ns: m[`${name}:pooled`].ns, vs: "fresh", ratio: ratio(m[`${name}:pooled`], m[`${name}:request`]) });
    keys[key] = g.ns / 1000;
    keys[`${key.replace("instantiate_", "request_")}`] = m[`${name}:request`].ns / 1000;
    keys[`${key.replace("instantiate_", "request_")}_pooled`] = m[`${name}:pooled`].ns / 1000;
  }
  keys.instantiate_empty_us = m.empty.ns / 1000;
  keys.instantiate_empty_memory_us = m.emptyMemory.ns / 1000;
  return { rows, keys, missing: missing.map((name) => `build/modules/${name}.wasm is missing (not built yet?): its instantiation is reported as null`) };
}
