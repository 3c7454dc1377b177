/// <reference types="node" />
/**
 * Scripted stand-ins: the ABI fuzzer's way of running JS as a guest (./abi-fuzzer.ts), for tests
 * that replay one finding step by step instead of a seed. A module here is the fuzzer's stub (the
 * ABI's imports, a guest's exports, no code) whose instances hand back exports written in JS, so
 * the real Runtime, Guest, Delivery and imports run; `hello` and `countdown` are the built ones.
 * Every export the host calls is written down, in order.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CALL_NOW_OUT, CALL_NOW_OUT_BYTES, Format, type IMPORTS } from "../../src/abi.js";
import { Runtime } from "../../src/runtime.js";
import { compile, stubWat } from "./abi-fuzzer.js";

const enc = new TextEncoder();
type Bytes = Uint8Array | string;
const bytesOf = (b: Bytes) => (typeof b === "string" ? enc.encode(b) : b);

/** A call's arguments besides its target; a handle is taken from handle() unless given. */
export interface CallArgs {
  parent?: number;
  handle?: number;
  keepalive?: boolean;
  format?: number;
}

/** An inbound call as wasm_bus_start hands it over. */
export interface Start {
  parent: number;
  handle: number;
  topic: string;
  request: Uint8Array;
}

/** What a scripted module does when the host enters it; what it leaves out does nothing. */
export interface Script {
  init?(g: ScriptedGuest): void;
  /** Runs inside wasm_bus_malloc, before it allocates: guest code the host runs in a delivery. */
  malloc?(g: ScriptedGuest, len: number): void;
  start?(g: ScriptedGuest, call: Start): void;
  finish?(g: ScriptedGuest, handle: number, data: Uint8Array): void;
  error?(g: ScriptedGuest, handle: number, code: number): void;
  drop?(g: ScriptedGuest, handle: number): void;
}

export interface ScriptedModule {
  /** module.json as the runtime reads it. */
  manifest: { topics: Record<string, unknown>; [field: string]: unknown };
  script: Script;
}

/** One instance of a scripted module, as its script drives it: the imports, with strings for pointers. */
export class ScriptedGuest {
  readonly memory = new WebAssembly.Memory({ initial: 2 });
  /** [64, 64 KiB): arguments of import calls; [64 KiB, ...): wasm_bus_malloc's buffers. */
  #scratch = 64;
  #heap = 65536;

  constructor(
    readonly label: string,
    readonly bus: Record<keyof typeof IMPORTS, (...args: number[]) => number>,
    /** One loop iteration on the fuel meter. */
    readonly tick: () => void,
  ) {}

  put(data: Bytes): [number, number] {
    const bytes = bytesOf(data);
    if (this.#scratch + bytes.length > 65536) this.#scratch = 64;
    const at = this.#scratch;
    new Uint8Array(this.memory.buffer).set(bytes, at);
    this.#scratch += bytes.length;
    return [at, bytes.length];
  }

  malloc(len: number): number {
    const end = this.#heap + len;
    if (end > this.memory.buffer.byteLength) this.memory.grow(Math.ceil((end - this.memory.buffer.byteLength) / 65536));
    const at = this.#heap;
    this.#heap = end;
    return at;
  }

  read(ptr: number, len: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr >>> 0, len >>> 0).slice();
  }

  handle(): number {
    return this.bus.handle();
  }

  /** A callback handle for `topic` on the call (or reserved handle) `owner`; 0 where refused. */
  callback(owner: number, topic: string): number {
    const h = this.handle();
    return this.bus.callback(owner, h, ...this.put(topic)) === 0 ? h : 0;
  }

  call(wapm: string, topic: string, body: Bytes, a: CallArgs = {}): { status: number; handle: number } {
    const handle = a.handle ?? this.handle();
    const status = this.bus.call(a.parent ?? 0, handle, a.keepalive ? 1 : 0, a.format ?? Format.Raw, ...this.put(wapm), ...this.put(topic), ...this.put(body));
    return { status, handle };
  }

  /** call_now with a result buffer of 256 bytes: its out record as fields. */
  callNow(wapm: string, topic: string, body: Bytes, a: CallArgs = {}): { status: number; ready: number; handle: number } {
    const [res, resLen] = this.put(new Uint8Array(256));
    const [out] = this.put(new Uint8Array(CALL_NOW_OUT_BYTES));
    const args = [...this.put(wapm), ...this.put(topic), ...this.put(body)];
    const status = this.bus.call_now(a.parent ?? 0, a.handle ?? 0, a.keepalive ? 1 : 0, a.format ?? Format.Raw, ...args, res, resLen, out);
    const view = new DataView(this.memory.buffer);
    return { status, ready: view.getUint32(out + CALL_NOW_OUT.ready, true), handle: view.getUint32(out + CALL_NOW_OUT.handle, true) };
  }

  reply(handle: number, body: Bytes, format: number = Format.Raw): number {
    return this.bus.reply(handle, format, ...this.put(body));
  }

  replyCallback(handle: number, topic: string, body: Bytes): number {
    return this.bus.reply_callback(handle, Format.Raw, ...this.put(topic), ...this.put(body));
  }

  drop(handle: number): number {
    return this.bus.drop(handle);
  }
}

export interface Scripted {
  runtime: Runtime;
  /** Every export the host called, in order: "caller#1 start(0, 1) go", "caller#1 finish(2)", ... */
  events: string[];
  /** Lets what the last step queued (deliveries, services) run. */
  settle(): Promise<void>;
  /** Puts WebAssembly.Instance back. */
  close(): void;
}

/**
 * A Runtime over scripted modules (and the built `hello` and `countdown`), without JSPI, as the
 * fuzzer runs it. WebAssembly.Instance is wrapped until `close`.
 */
export async function scriptedRuntime(root: string, modules: Record<string, ScriptedModule>): Promise<Scripted> {
  const stub = await stubWat();
  const scripts = new Map<WebAssembly.Module, { name: string; script: Script; count: number }>();
  const registry: Record<string, { manifest: unknown; wasm: WebAssembly.Module }> = {};
  for (const [name, { manifest, script }] of Object.entries(modules)) {
    const wasm = compile(stub);
    scripts.set(wasm, { name, script, count: 0 });
    registry[name] = { manifest, wasm };
  }
  for (const name of ["hello", "countdown"]) {
    registry[name] = {
      manifest: JSON.parse(readFileSync(join(root, `modules/${name}/module.json`), "utf8")),
      wasm: compile(readFileSync(join(root, `build/modules/${name}.wasm`))),
    };
  }
  const events: string[] = [];
  const RealInstance = WebAssembly.Instance;
  function ScriptedInstance(module: WebAssembly.Module, imports: WebAssembly.Imports) {
    const s = scripts.get(module);
    if (!s) return new RealInstance(module, imports);
    const meter = imports.wasm_bus_meter as { log_execution: (n: number) => void };
    const g = new ScriptedGuest(`${s.name}#${++s.count}`, imports["wasm-bus"] as ScriptedGuest["bus"], () => meter.log_execution(0));
    const topics = Object.keys(modules[s.name]!.manifest.topics);
    const text = (ptr: number, len: number) => new TextDecoder().decode(g.read(ptr, len));
    return {
      exports: {
        memory: g.memory,
        wasm_bus_malloc: (len: number) => {
          s.script.malloc?.(g, len);
          return g.malloc(len);
        },
        wasm_bus_free: () => {},
        _initialize: () => {
          for (const topic of topics) g.bus.listen(...g.put(topic));
          s.script.init?.(g);
        },
        wasm_bus_start: (parent: number, handle: number, _format: number, tp: number, tl: number, rp: number, rl: number) => {
          const topic = text(tp, tl);
          events.push(`${g.label} start(${parent}, ${handle}) ${topic}`);
          s.script.start?.(g, { parent, handle, topic, request: g.read(rp, rl) });
        },
        wasm_bus_finish: (handle: number, _format: number, ptr: number, len: number) => {
          events.push(`${g.label} finish(${handle})`);
          s.script.finish?.(g, handle, g.read(ptr, len));
        },
        wasm_bus_error: (handle: number, code: number) => {
          events.push(`${g.label} error(${handle}, ${code})`);
          s.script.error?.(g, handle, code);
        },
        wasm_bus_drop: (handle: number) => {
          events.push(`${g.label} drop(${handle})`);
          s.script.drop?.(g, handle);
        },
      },
    };
  }
  ScriptedInstance.prototype = RealInstance.prototype;
  (WebAssembly as { Instance: unknown }).Instance = ScriptedInstance;
  const runtime = new Runtime(registry, { fuel: compile(readFileSync(join(root, "build/fuel.wasm"))), log: () => {} });
  return {
    runtime,
    events,
    settle: async () => {
      for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    },
    close: () => void ((WebAssembly as { Instance: unknown }).Instance = RealInstance),
  };
}
