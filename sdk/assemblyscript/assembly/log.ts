/** Log lines through the `log` import, tagged by the host with the module and the call. */
import * as bus from "./abi";
import { utf8 } from "./bytes";

export namespace log {
  export function write(level: u32, message: string): void {
    const b = utf8(message);
    bus.log(level, changetype<usize>(b), <usize>b.byteLength);
  }
  export function error(message: string): void { write(bus.LogLevel.Error, message); }
  export function warn(message: string): void { write(bus.LogLevel.Warn, message); }
  export function info(message: string): void { write(bus.LogLevel.Info, message); }
  export function debug(message: string): void { write(bus.LogLevel.Debug, message); }
  export function trace(message: string): void { write(bus.LogLevel.Trace, message); }
}
