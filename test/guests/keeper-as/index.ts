// keeper-as: `hold` opens a tally at leak-rs with a kept-alive call (answered at once: leak-rs is
// idle, and its handler replies before it returns) for the request, through a Step handler, and
// never replies. The caller's timeout drops the request, and a Step's calls go with its request:
// leak-rs then hears wasm_bus_drop for its counter.open and lets the tally go.
import { Call, Format, Payload, listen, Request, Step, utf8Bytes } from "../../../sdk/assemblyscript/assembly";
export * from "../../../sdk/assemblyscript/assembly/exports";

class Opened extends Step<Payload> {
  onResult(_reply: Payload): void {
    // Holds the tally until the request is dropped.
  }
}

listen("hold", (req: Request): void => {
  new Call("leak-rs", "counter.open").keepAlive().send(Format.Json, utf8Bytes('{"start":0}'), new Opened(req));
});
