// flood-rs-watch: `watch` calls flood-rs's flood.go with a tick callback and answers with its
// reply. The ticks wait in this guest's queue while flood-rs runs, so past 4,096 the host refuses them.
import { Call, Callback, Format, listen, Payload, Request, Step, utf8Bytes } from "../../../sdk/assemblyscript/assembly";
export * from "../../../sdk/assemblyscript/assembly/exports";

class Tick extends Callback {
  onCallback(_payload: Payload): void {}
}

class Report extends Step<Payload> {
  onResult(reply: Payload): void {
    this.req.replyWith(reply.format, reply.data);
  }
}

listen("watch", (req: Request): void => {
  new Call("flood-rs", "flood.go").callback("tick", new Tick()).send(Format.Json, utf8Bytes(req.text()), new Report(req));
});
