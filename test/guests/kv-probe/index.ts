// kv-probe: makes one call to the host's built-in services as itself (its module name is the
// caller the kv.* store is scoped by): os {topic, format, payload} calls os `topic` with
// `payload` in `format` (1 json, 2 msgpack, 3 bincode) and answers {format, payload} with the
// reply as it came, or faults with the code the call failed with. For test/kv.test.ts.
import { Call, Code, Format, Handler, listen, OS_WAPM, Payload, Request, Value } from "../../../sdk/assemblyscript/assembly";
export * from "../../../sdk/assemblyscript/assembly/exports";

class Relayed extends Handler<Payload> {
  constructor(public req: Request) {
    super();
  }
  onResult(reply: Payload): void {
    this.req.reply(Value.object().setInt("format", reply.format).set("payload", Value.bytes(reply.data)));
  }
  onError(code: u32): void {
    this.req.fault(code);
  }
  owner(): Request | null {
    return this.req;
  }
}

listen("os", (req: Request): void => {
  const body = req.value();
  const topic = body != null ? body.getString("topic") : null;
  const format = body != null ? body.get("format") : null;
  const payload = body != null ? body.get("payload") : null;
  const data = payload != null ? payload.asBytes() : null;
  if (topic == null || format == null || !format.isInteger() || data == null) {
    req.fault(Code.BadRequest, "os wants {topic, format, payload}");
    return;
  }
  new Call(OS_WAPM, topic).send(<u32>format.asInt(), data, new Relayed(req));
});
