import { Code, FORMAT_NAMES, OS_WAPM, formatValue } from "./abi.js";
import { BusCall, type CallOptions, type CallSink } from "./call.js";
import { type Clock, timerClock } from "./clock.js";
import { type Payload, transcode } from "./codec/index.js";
import { type Fit, type TopicSpec, fit } from "./codec/schema.js";
import { BusError, GuestExit, nameInMessage } from "./errors.js";
import type { Host, Meter } from "./host.js";
import type { Guest, GuestOptions, Saved } from "./instance/guest.js";
import type { Adopt } from "./instance/snapshot.js";
import { Instances } from "./instances.js";
import { notCommand } from "./process.js";
import { consoleSink, type LogLine, type LogSink } from "./log.js";
import { type LoadedModule, type ModuleEntry, loadModules, moduleOf } from "./registry.js";
import { builtinServices } from "./services/index.js";
import type { KvStorage } from "./services/kv/index.js";
import type { ServeContext, Service } from "./services/service.js";

export type { ModuleEntry } from "./registry.js";

export interface RuntimeOptions {
  /** build/fuel.wasm: the meter that metered modules tick. */
  fuel: WebAssembly.Module;
  log?: LogSink;
  /** Longest chain of module-to-module calls. */
  maxDepth?: number;
  /** Where sleeps go: timers by default, a Durable Object's alarm in a process. */
  clock?: Clock;
  /** Where modules' kv.* keys live (src/worker-runtime.ts chooses); without it kv.* is Unsupported. */
  storage?: KvStorage;
  /**
   * Services for wapm names that are no module here: instances other objects hold (a session's,
   * `<module>@<session>`: src/remote.ts). It caches what it makes; the runtime does not.
   */
  remote?: (wapm: string, modules: ReadonlyMap<string, LoadedModule>) => Service | undefined;
}

/** What a caller of `request` may pass besides the payload. */
export interface RequestOptions {
  /** Aborting it drops the call. Read only where the call is still running when `request` returns (a getter may make it then). */
  signal?: AbortSignal;
  /** Callbacks the service invokes, answered with an ABI code; none by default (MissingCallbacks). */
  callback?: CallSink["callback"];
  /** Who is calling, for logs ("http" by default). */
  caller?: string;
}

/**
 * Routes calls to built-in services (wapm `os`) and to modules by name. It is the Host of every
 * instance it makes. The HTTP edge and both Durable Objects make calls through `start` (or
 * `request`, its promise); a guest makes its BusCall itself and hands it to `dispatch`, because
 * the call must sit under the guest's handle before any service runs (one may answer at once).
 */
export class Runtime implements Host {
  readonly modules: ReadonlyMap<string, LoadedModule>;
  readonly instances = new Instances(this);
  readonly maxDepth: number;
  readonly meter: Meter;
  readonly clock: Clock;
  readonly #builtins = builtinServices();
  /** Resolved once per wapm name and topic: dispatch is a hot path. */
  readonly #targets = new Map<string, Target>();
  readonly #log: LogSink;
  readonly #contexts = new Map<string, ServeContext>();
  readonly #storage: KvStorage | undefined;
  readonly #remote: RuntimeOptions["remote"];

  constructor(registry: Record<string, ModuleEntry>, options: RuntimeOptions) {
    this.meter = new WebAssembly.Instance(options.fuel, {
      host: {
        exhausted: () => {
          throw GuestExit.fuel();
        },
      },
    }).exports as unknown as Meter;
    this.clock = options.clock ?? timerClock;
    this.#log = options.log ?? consoleSink;
    this.maxDepth = options.maxDepth ?? 16;
    this.#storage = options.storage;
    this.#remote = options.remote;
    this.modules = loadModules(registry);
  }

  log(line: LogLine) {
    this.#log(line);
  }

  /** A command-style module, instantiated and not yet started (`run()` starts it). */
  spawn(name: string, options: GuestOptions = {}): Guest {
    const [module, command] = this.#command(name, options);
    return this.instances.create(module, command);
  }

  /**
   * A command's module (InvalidWapm where there is none by that name), and the options its
   * instance is made with, spawned or restored alike: its name as argv[0], and not ephemeral.
   */
  #command(name: string, options: GuestOptions): [LoadedModule, GuestOptions] {
    const module = this.modules.get(name);
    if (!module) throw BusError.of("InvalidWapm", `no module named ${nameInMessage(name)}`);
    return [module, { ...options, args: [name, ...(options.args ?? [])], ephemeral: false }];
  }

  /**
   * `spawn` for a sub-process (process.spawn): a module that is not a command is refused before
   * an instance is made, as POST /processes refuses it, so the spawner learns it from its call,
   * not from an exit code.
   */
  #spawnCommand(name: string, options: GuestOptions): Guest {
    const module = this.modules.get(name);
    if (module && !module.error && !module.command) throw BusError.of("IncorrectAbi", notCommand(name));
    return this.spawn(name, options);
  }

  /** A command-style module as a snapshot saved it, with the options `spawn` was given (not yet resumed: `resume()`). */
  restore(name: string, options: GuestOptions, saved: Saved, adopt: Adopt = () => undefined): Guest {
    const [module, command] = this.#command(name, options);
    return this.instances.restore(module, command, saved, adopt);
  }

  /** The contract of a topic (format, types), or InvalidWapm / InvalidTopic. */
  topic(wapm: string, topic: string): TopicSpec {
    return this.#route(wapm, topic).spec;
  }

  /** A call from outside any guest: made, dispatched, and faulted through its sink if it is refused. */
  start(wapm: string, topic: string, request: Payload, sink: CallSink, options: CallOptions = {}): BusCall {
    const call = new BusCall(wapm, topic, request, sink, options);
    const refused = this.dispatch(call);
    if (refused) call.fault(refused);
    return call;
  }

  /**
   * `start` as a promise of the reply. The caller waits for nothing else, so an idle instance may
   * take the call at once, inside `dispatch` (BusCall.waiting), instead of a microtask later; a
   * module that answers before it returns then needs no queue, no timer and no abort listener.
   */
  request(wapm: string, topic: string, request: Payload, options: RequestOptions = {}): Promise<Payload> {
    return new Promise((resolve, reject) => {
      const callback = options.callback ?? (() => Code.MissingCallbacks);
      const call = new BusCall(wapm, topic, request, { finish: resolve, fail: reject, callback }, { caller: options.caller });
      call.waiting = true;
      const refused = this.dispatch(call);
      call.waiting = false;
      if (refused) call.fault(refused);
      if (!call.ended) options.signal?.addEventListener("abort", () => call.drop("the caller went away"), { once: true });
    });
  }

  /**
   * Starts a call. What is wrong before any service runs (an unknown module or topic, a format
   * that cannot be transcoded, a cycle) is returned, never thrown: a guest gets it as the status
   * of its `call`, other callers fault the call with it (`start`).
   */
  dispatch(call: BusCall): BusError | undefined {
    const cycle = call.wapm !== OS_WAPM && call.origin !== undefined && passesThrough(call.origin, call.wapm);
    if (cycle || call.depth > this.maxDepth) return chainRefusal(call, cycle, this.maxDepth);
    let route: Route;
    try {
      route = this.#route(call.wapm, call.topic);
      // Looked up by format (a format outside the four finds none: not taken as it is).
      const how = route.fits[call.request.format] ?? fit(route.spec, undefined);
      if (how !== "as-is") {
        const refused = transcodeRequest(call, route.spec, how, call.wapm === OS_WAPM ? undefined : moduleOf(this.modules, call.wapm));
        if (refused) return refused;
      } else if (call.request.data.length > route.requestBytes) {
        // The serving module's limit, not only its caller's: a module that takes small requests is
        // not sent a larger one by a module (or a session's client) whose own limit allows it.
        return requestTooLarge(call, route.requestBytes);
      }
    } catch (err) {
      return BusError.from(err);
    }
    const service = route.service;
    if (call.lent && !service.borrows) call.own();
    service.serve(call, this.#contextFor(call.caller));
    return undefined;
  }

  /** What services learn of a caller: one object per caller, made once (dispatch is a hot path). */
  #contextFor(caller: string): ServeContext {
    return this.#contexts.get(caller) ?? this.#newContext(caller);
  }

  /** #contextFor's miss, out of line as #newRoute is. */
  #newContext(caller: string): ServeContext {
    const manifest = this.modules.get(caller)?.manifest;
    const ctx: ServeContext = { caller: manifest, clock: this.clock, log: (line) => this.log(line), spawn: (name, o) => this.#spawnCommand(name, o), kv: manifest && this.#storage?.open(caller) };
    this.#contexts.set(caller, ctx);
    return ctx;
  }

  /** The service behind a wapm name and a topic of it: InvalidWapm or InvalidTopic where there is none. */
  #route(wapm: string, topic: string): Route {
    return this.#targets.get(wapm)?.routes.get(topic) ?? this.#newRoute(wapm, topic);
  }

  /**
   * A route not made yet, and its target where that is new (a remote's is made anew each time: it
   * caches its own). Out of line, as GuestMemory's refusals are (see `outside` in ./memory.ts):
   * dispatch is on every call's path.
   */
  #newRoute(wapm: string, topic: string): Route {
    let target = this.#targets.get(wapm);
    if (!target) {
      // `os` is the host's, whatever the modules are called.
      const module = wapm === OS_WAPM ? undefined : this.modules.get(wapm);
      if (wapm !== OS_WAPM && !module) {
        // Not one of the modules: an instance another object holds (`chat@room-a`), if the runtime
        // can reach one. The remote caches what it makes; the runtime does not.
        const remote = this.#remote?.(wapm, this.modules);
        if (!remote) throw BusError.of("InvalidWapm", `no module named ${nameInMessage(wapm)}`);
        return routeOf(remote, specOf(remote, wapm, topic));
      }
      const service = module ? this.instances.of(module) : this.#builtins;
      this.#targets.set(wapm, (target = { service, routes: new Map(), requestBytes: module?.manifest.limits.requestBytes ?? Infinity }));
    }
    let route = target.routes.get(topic);
    if (!route) target.routes.set(topic, (route = routeOf(target.service, specOf(target.service, wapm, topic), target.requestBytes)));
    return route;
  }
}

/** A service of this runtime (the built-ins, a module), and the routes to its topics made so far. */
interface Target {
  service: Service;
  routes: Map<string, Route>;
  /** The module's limits.requestBytes (the host's services and remote instances: none here). */
  requestBytes: number;
}

/** Where a call to one topic of one service goes, and which formats it takes as they are. */
interface Route {
  service: Service;
  spec: TopicSpec;
  /** How a payload in each format reaches the topic (codec/schema.ts `fit`), by format value. */
  fits: readonly Fit[];
  /** The most a request taken as it is may hold: Target.requestBytes. */
  requestBytes: number;
}

function routeOf(service: Service, spec: TopicSpec, requestBytes = Infinity): Route {
  return { service, spec, fits: FORMAT_NAMES.map((name) => fit(spec, name)), requestBytes };
}

/** Why dispatch refuses a chain of calls: a cycle, or deeper than `maxDepth`. */
function chainRefusal(call: BusCall, cycle: boolean, maxDepth: number): BusError {
  const chain = call.chain().join(" → ");
  return BusError.of("CallCycle", cycle ? `cycle of calls: ${chain}` : `call chain deeper than ${maxDepth}: ${chain}`);
}

/**
 * A request in a format its topic does not take as it is: transcoded (one that cannot be throws,
 * and dispatch returns that), or Unsupported where it is raw bytes or the topic takes raw bytes.
 * `module` is the one serving it, whose limits hold for the bytes it gets and the caller gets back.
 */
function transcodeRequest(call: BusCall, spec: TopicSpec, how: Fit, module: LoadedModule | undefined): BusError | undefined {
  if (how === "refused") return BusError.of("Unsupported", `topic ${call.topic} takes ${spec.format}, and raw bytes cannot be transcoded`);
  const limits = module?.manifest.limits;
  let request: Payload;
  try {
    request = transcode(call.request, formatValue(spec.format), spec.request, limits?.requestBytes);
  } catch (err) {
    throw untranscodable(call, spec, err);
  }
  // Checked here, where the growth happens: the edge and the `call` import held the bytes the
  // caller sent, and transcoding can grow them (a msgpack `bin` byte is up to four in JSON).
  if (limits && request.data.length > limits.requestBytes) return transcodedTooLarge(call, request, spec, limits.requestBytes);
  call.replyAs = { format: call.request.format, schema: spec.response, callbacks: spec.callbacks, limit: limits?.responseBytes };
  call.request = request;
  call.lent = false; // transcoded: bytes of its own
  return undefined;
}

/** dispatch's refusal of a request over the serving module's limit, as it came. */
function requestTooLarge(call: BusCall, limit: number): BusError {
  return BusError.of("LimitExceeded", `request of ${call.request.data.length} bytes to topic ${call.topic} is over module ${call.wapm}'s limit of ${limit} (limits.requestBytes)`);
}

/**
 * transcodeRequest's refusal of a request that was read but cannot be written in the topic's
 * format (an integer past msgpack's 64 bits, nesting deeper than the encoder's stack): the value
 * is the caller's, so the fault is too (BadRequest, 400), not the host's SerializationFailed (500).
 * A request that cannot be read is refused as the decoder says (DeserializationFailed).
 */
function untranscodable(call: BusCall, spec: TopicSpec, err: unknown): BusError {
  const refusal = BusError.from(err);
  if (refusal.code !== Code.SerializationFailed) return refusal;
  const given = `${call.request.data.length} bytes of ${FORMAT_NAMES[call.request.format]}`;
  return BusError.of("BadRequest", `request of ${given} cannot be transcoded into ${spec.format} for topic ${call.topic}: ${refusal.message}`);
}

/** transcodeRequest's refusal of a request its transcoding made too large. */
function transcodedTooLarge(call: BusCall, request: Payload, spec: TopicSpec, limit: number): BusError {
  const given = `${call.request.data.length} bytes of ${FORMAT_NAMES[call.request.format]}`;
  return BusError.of("LimitExceeded", `request of ${given} is ${request.data.length} bytes once transcoded into ${spec.format} for topic ${call.topic}, over module ${call.wapm}'s limit of ${limit} (limits.requestBytes)`);
}

/** Whether `wapm` is on the chain that `call` ends (`call.chain().includes(wapm)`, without the arrays). */
function passesThrough(call: BusCall, wapm: string): boolean {
  for (let c: BusCall | undefined = call; c; c = c.origin) if (c.wapm === wapm) return true;
  return false;
}

function specOf(service: Service, wapm: string, topic: string): TopicSpec {
  const spec = Object.hasOwn(service.topics, topic) ? service.topics[topic] : undefined;
  if (!spec) {
    const name = nameInMessage(topic);
    throw BusError.of("InvalidTopic", wapm === OS_WAPM ? `the host has no service for topic ${name}` : `module ${nameInMessage(wapm)} has no topic ${name}`);
  }
  return spec;
}
