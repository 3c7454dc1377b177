// relay: topic "relay", JSON. {"name": "Ada"} -> {"relayed": <what hello-rs greet replied>}
// Calls the Rust module hello-rs (topic "greet", JSON) with the request as it came, so
// AssemblyScript -> Rust calls are tested end to end. A failed call (hello-rs missing: InvalidWapm 3;
// hello-rs faulting: its code, e.g. BadRequest 12) faults the relay with the same code (Step's default).
import { call, Code, Format, Payload, Request, listen, Step, Value } from "../../sdk/assemblyscript/assembly";
export * from "../../sdk/assemblyscript/assembly/exports";

class Relayed extends Step<Payload> {
  onResult(reply: Payload): void {
    const v = reply.value();
    if (v == null) {
      this.req.fault(Code.DeserializationFailed, "the greeting did not decode");
      return;
    }
    this.req.reply(Value.object().set("relayed", v));
  }
}

function relay(req: Request): void {
  const body = req.value();
  if (body == null || !body.isObject()) {
    req.fault(Code.BadRequest, "relay wants a JSON object");
    return;
  }
  // The topic is json, so the request is JSON bytes already: pass them on untouched.
  call("hello-rs", "greet", Format.Json, req.data, new Relayed(req));
}

listen("relay", relay);
