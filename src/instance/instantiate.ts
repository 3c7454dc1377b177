import { IMPORT_MODULE, LogLevel } from "../abi.js";
import { type Wasi, type WasiOptions, wasiImports } from "../wasi.js";
import { Asyncify } from "./asyncify.js";
import { busImports } from "./bus-imports.js";
import type { GuestExports, InstanceContext } from "./context.js";
import type { Delivery } from "./delivery.js";
import { envImports } from "./env-imports.js";

/** What an instance is made of besides its context: WASI's state where it imports WASI, the asyncify driver where it can block. */
export interface Instantiated {
  wasi?: Wasi;
  asyncify?: Asyncify;
}

/**
 * Makes the Wasm instance behind `cx`: the import table (the bus, `env`, WASI, the fuel meter) put
 * together for what the module imports, and its exports bound to `cx`, through asyncify where the
 * module blocks. `rested`: a blocking entry has unwound into a wait (the instance may be at rest).
 * A trap or a refused import in the start function is thrown, as the engine throws it.
 */
export function instantiate(cx: InstanceContext, delivery: Delivery, options: WasiOptions, rested: () => void): Instantiated {
  const { module, host } = cx;
  const made: Instantiated = {};
  const suspender = module.blocking && module.asyncify ? (made.asyncify = new Asyncify(module.name, () => cx.renew(), rested)) : undefined;
  const imports: WebAssembly.Imports = { [IMPORT_MODULE]: busImports(cx, delivery, suspender), ...envImports(cx) };
  if (module.wasi) {
    const wasi = wasiImports(options, {
      memory: () => cx.memory,
      clock: host.clock,
      log: (stream, msg) => {
        cx.command?.output?.(stream, msg);
        cx.log(stream === "stderr" ? LogLevel.Warn : LogLevel.Info, msg, stream);
      },
      suspender,
    });
    imports.wasi_snapshot_preview1 = wasi.imports as WebAssembly.ModuleImports;
    made.wasi = wasi;
  }
  if (module.metered) imports.wasm_bus_meter = { log_execution: host.meter.tick, fuel: host.meter.fuel };
  cx.renew(); // the start function runs metered too
  const exports = new WebAssembly.Instance(module.wasm, imports).exports;
  cx.bind((suspender ? suspender.bind(exports) : exports) as unknown as GuestExports);
  return made;
}
