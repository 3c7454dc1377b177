import type { BusCall } from "./call.js";
import type { Clock } from "./clock.js";
import type { TopicSpec } from "./codec/schema.js";
import type { BusError } from "./errors.js";
import type { LogLine } from "./log.js";

/** The fuel meter every metered guest of one runtime ticks (src/fuel.wat). */
export interface Meter {
  /** wasm_bus_meter.log_execution: takes a unit of fuel (the argument is binaryen's site id, unused); throws once none is left. */
  tick: (site: number) => void;
  /** The units left to the entry running now (an i64: a bigint), set before each entry. */
  fuel: WebAssembly.Global;
}

/**
 * What one instance needs from the runtime that made it: where its calls go, where its log lines
 * go, the meter it ticks and the engine's capabilities. The runtime implements it; an instance
 * depends on nothing else of the runtime, so the dependencies point one way.
 */
export interface Host {
  readonly meter: Meter;
  /** Where a guest's own sleeps go (WASI's `poll_oneoff`): a timer, or a process's alarm. */
  readonly clock: Clock;
  /** Starts a call; a refusal found before any service runs comes back as the call's status. */
  dispatch(call: BusCall): BusError | undefined;
  /** A topic's contract (format, types): how a call restored from a snapshot is encoded. */
  topic(wapm: string, topic: string): TopicSpec;
  log(line: LogLine): void;
}
