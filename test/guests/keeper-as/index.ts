// keeper-as: `hold` opens a tally at leak-rs with a kept-alive call (answered at once: leak-rs is
// idle, and its handler replies before it returns) for the request, through a Step handler, and
// never replies. The caller's timeout drops the request, and a Step's calls go with its request:
// leak-rs then hears wasm_bus_drop for its counter.open and lets the tally go.
import { Call, Format, liveHandles, listen, listenWith, Payload, Request, Server, Step, utf8Bytes, Value } from "../../../sdk/assemblyscript/assembly";
export * from "../../../sdk/assemblyscript/assembly/exports";

class Opened extends Step<Payload> {
  onResult(_reply: Payload): void {
    // Holds the tally until the request is dropped.
  }
}

listen("hold", (req: Request): void => {
  new Call("leak-rs", "counter.open").keepAlive().send(Format.Json, utf8Bytes('{"start":0}'), new Opened(req));
});

// `wait`: a request kept in a list until its caller is done with it (as a long poll would), and
// nothing in flight when the guest returns: the host fails it (BusInvocationFailed) and must say
// so with wasm_bus_drop, or the list (and the SDK's handle table) would keep it forever.
let waiting: Array<Request> = [];

class Waiter extends Server {
  onRequest(req: Request): void {
    waiting.push(req);
  }
  onDrop(req: Request): void {
    const i = waiting.indexOf(req);
    if (i >= 0) waiting.splice(i, 1);
  }
}

listenWith("wait", new Waiter());
listen("waiting", (req: Request): void => {
  req.reply(Value.object().setInt("waiting", waiting.length).setInt("handles", liveHandles()));
});
