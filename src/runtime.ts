import { Code, IMPORTS, IMPORT_MODULE, OS_WAPM, formatName, formatValue } from "./abi.js";
import type { BusCall } from "./call.js";
import { type Clock, timerClock } from "./clock.js";
import { transcode } from "./codec/index.js";
import type { TopicSpec } from "./codec/schema.js";
import { BusError, FuelExhausted } from "./errors.js";
import { Guest, type GuestOptions } from "./guest.js";
import { type Jspi, jspi } from "./jspi.js";
import { consoleSink, type LogLine, type LogSink } from "./log.js";
import { type Manifest, parseManifest } from "./manifest.js";
import { builtinServices } from "./services/index.js";
import type { WasiOptions } from "./wasi.js";
import type { Service } from "./services/service.js";

/** One entry of the generated registry: a manifest and its statically imported Wasm. */
export interface ModuleEntry {
  manifest: unknown;
  wasm: WebAssembly.Module;
}

export interface LoadedModule {
  name: string;
  manifest: Manifest;
  wasm: WebAssembly.Module;
  /** Imports WASI preview1. */
  wasi: boolean;
  /** May block in an import (`poll`, WASI sleeps): entries run through JSPI. */
  blocking: boolean;
  /** Built with fuel metering: imports wasm_bus_meter.log_execution. */
  metered: boolean;
  /** Why the module cannot run, found when it was loaded. */
  error?: BusError;
}

export interface RuntimeOptions {
  /** build/fuel.wasm: the meter that metered modules tick. */
  fuel: WebAssembly.Module;
  log?: LogSink;
  /** Longest chain of module-to-module calls. */
  maxDepth?: number;
  /** Turns JSPI off even where the engine has it, to run the portable path. */
  jspi?: false;
  /** Where sleeps go: timers by default, a Durable Object's alarm in a process. */
  clock?: Clock;
}

const HOST_IMPORTS = new Set(["env.abort", "env.seed", "wasm_bus_meter.log_execution", "wasi.thread-spawn"]);

/** Routes calls to built-in services (wapm `os`) and to modules by name. */
export class Runtime {
  readonly modules = new Map<string, LoadedModule>();
  readonly maxDepth: number;
  /**
   * The one fuel meter every metered guest of this runtime ticks. Sharing it is sound
   * because guests never run at the same time: each entry into a guest, and each resumption
   * from a suspending import, sets the budget afresh before guest code runs.
   */
  readonly meter: { tick: Function; fuel: WebAssembly.Global };
  readonly jspi: Jspi | undefined;
  readonly clock: Clock;
  #builtins: Map<string, Service>;
  #moduleServices = new Map<string, Service>();
  #resident = new Map<string, Guest>();
  #log: LogSink;

  constructor(registry: Record<string, ModuleEntry>, options: RuntimeOptions) {
    this.meter = new WebAssembly.Instance(options.fuel, {
      host: {
        exhausted: () => {
          throw new FuelExhausted();
        },
      },
    }).exports as Runtime["meter"];
    this.jspi = options.jspi === false ? undefined : jspi();
    this.clock = options.clock ?? timerClock;
    this.#log = options.log ?? consoleSink;
    this.maxDepth = options.maxDepth ?? 16;
    this.#builtins = builtinServices(() => this.#log);
    for (const [name, entry] of Object.entries(registry)) this.modules.set(name, load(name, entry));
  }

  log(line: LogLine) {
    this.#log(line);
  }

  /**
   * Runs a command-style module (`_start`) to completion; its stdout and
   * stderr lines reach the log sink. Resolves to the exit code.
   */
  async run(name: string, options: WasiOptions = {}): Promise<number> {
    return this.spawn(name, options).run();
  }

  /** Instantiates a command-style module without starting it, for callers that need the instance (processes). */
  spawn(name: string, options: Omit<GuestOptions, "ephemeral"> = {}): Guest {
    const module = this.modules.get(name);
    if (!module) throw BusError.of("InvalidWapm", `no module named ${name}`);
    if (module.error) throw module.error;
    return Guest.create(module, this, { ...options, args: [name, ...(options.args ?? [])], ephemeral: false });
  }

  /**
   * Makes `guest` the instance that serves every call to its module in this
   * runtime (a process, a WebSocket session), instead of a fresh one per call.
   */
  reside(guest: Guest): () => void {
    const name = guest.module.name;
    this.#resident.set(name, guest);
    return () => {
      if (this.#resident.get(name) === guest) this.#resident.delete(name);
    };
  }

  resident(name: string): Guest | undefined {
    const guest = this.#resident.get(name);
    return guest && !guest.broken ? guest : undefined;
  }

  /** The service behind a wapm name, or InvalidWapm. */
  service(wapm: string, topic: string): Service {
    if (wapm === OS_WAPM) {
      const service = this.#builtins.get(topic);
      if (!service) throw BusError.of("InvalidTopic", `the host has no service for topic ${topic}`);
      return service;
    }
    let service = this.#moduleServices.get(wapm);
    if (!service) {
      const module = this.modules.get(wapm);
      if (!module) throw BusError.of("InvalidWapm", `no module named ${wapm}`);
      service = moduleService(module, this);
      this.#moduleServices.set(wapm, service);
    }
    return service;
  }

  topic(wapm: string, topic: string): TopicSpec {
    return specOf(this.service(wapm, topic), wapm, topic);
  }

  /**
   * Starts a call. Faults found before the service runs (unknown module or
   * topic, a format that cannot be transcoded, the depth limit) are thrown, so
   * a guest gets them as the status of its `call`.
   */
  dispatch(call: BusCall): void {
    if (call.wapm !== OS_WAPM && call.origin?.chain().includes(call.wapm)) {
      throw new BusError(Code.CallCycle, `cycle of calls: ${call.chain().join(" → ")}`, 508);
    }
    if (call.depth > this.maxDepth) {
      throw new BusError(Code.LimitExceeded, `call chain deeper than ${this.maxDepth}: ${call.chain().join(" → ")}`, 508);
    }
    const service = this.service(call.wapm, call.topic);
    const spec = specOf(service, call.wapm, call.topic);
    const given = formatName(call.request.format)!;
    if (spec.format !== given && !spec.accepts?.includes(given)) {
      if (given === "raw" || spec.format === "raw") {
        throw new BusError(11, `topic ${call.topic} takes ${spec.format}, and raw bytes cannot be transcoded`, 415);
      }
      call.replyAs = { format: call.request.format, schema: spec.response, callbacks: spec.callbacks };
      call.request = transcode(call.request, formatValue(spec.format), spec.request);
    }
    service.serve(call, { caller: this.modules.get(call.caller)?.manifest, clock: this.clock, runtime: this });
  }
}

function specOf(service: Service, wapm: string, topic: string): TopicSpec {
  const spec = service.topics[topic];
  if (!spec) throw BusError.of("InvalidTopic", `module ${wapm} has no topic ${topic}`);
  return spec;
}

/** Idle instances kept per module for "pooled" modules. */
const POOL_SIZE = 4;

function moduleService(module: LoadedModule, runtime: Runtime): Service {
  const pool: Guest[] = [];
  const instance = (): Guest => {
    switch (module.manifest.instances) {
      case "fresh":
        return Guest.create(module, runtime);
      case "shared": {
        const guest = Guest.create(module, runtime);
        runtime.reside(guest);
        return guest;
      }
      case "pooled":
        return (
          pool.pop() ??
          Guest.create(module, runtime, {
            onIdle: (guest) => {
              if (pool.length < POOL_SIZE && !pool.includes(guest)) pool.push(guest);
            },
          })
        );
    }
  };
  return {
    topics: module.manifest.topics,
    serve(call) {
      // Later calls on a relative object go to the instance that made it; a module with a
      // resident instance (a process, a session, a shared module) is served by that one.
      const owner = call.parent?.server ?? runtime.resident(module.name);
      if (owner instanceof Guest) return owner.accept(call);
      const timeout = module.manifest.limits.callTimeoutMs;
      const timer = setTimeout(
        () => call.fault(BusError.of("Timeout", `module ${module.name} did not answer ${call.topic} within ${timeout} ms`)),
        timeout,
      );
      call.onAnswer(() => clearTimeout(timer));
      try {
        if (module.error) throw module.error;
        instance().accept(call);
      } catch (err) {
        call.fault(BusError.from(err));
      }
    },
  };
}

function load(name: string, entry: ModuleEntry): LoadedModule {
  const manifest = parseManifest(name, entry.manifest);
  const imports = WebAssembly.Module.imports(entry.wasm);
  const module: LoadedModule = {
    name,
    manifest,
    wasm: entry.wasm,
    wasi: imports.some((i) => i.module === "wasi_snapshot_preview1"),
    blocking: imports.some((i) => (i.module === IMPORT_MODULE && i.name === "poll") || i.name === "poll_oneoff" || i.name === "fd_read"),
    metered: imports.some((i) => i.module === "wasm_bus_meter" && i.name === "log_execution"),
  };
  for (const i of imports) {
    const known =
      i.module === "wasi_snapshot_preview1" ||
      HOST_IMPORTS.has(`${i.module}.${i.name}`) ||
      (i.module === IMPORT_MODULE && i.kind === "function" && i.name in IMPORTS);
    if (!known) {
      module.error = BusError.of("IncorrectAbi", `module ${name} imports ${i.module}.${i.name}, which wasm-bus ABI v1 does not provide`);
      break;
    }
  }
  if (!WebAssembly.Module.exports(entry.wasm).some((e) => e.name === "memory" && e.kind === "memory")) {
    module.error ??= BusError.of("IncorrectAbi", `module ${name} does not export its memory`);
  }
  return module;
}
