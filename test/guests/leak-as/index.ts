// leak-as: each topic takes one path of the AssemblyScript SDK; `stats` says how many handles the
// SDK tracks (liveHandles) and how many pages the memory has, so a test can call the rest
// thousands of times and check that a long-running server holds nothing per call.
import { Call, Callback, Code, Format, listen, liveHandles, now, Payload, Request, sleep, Step, utf8Bytes, Value } from "../../../sdk/assemblyscript/assembly";
export * from "../../../sdk/assemblyscript/assembly/exports";

class Done<T> extends Step<T> {
  onResult(_v: T): void {
    this.req.reply(Value.object().setBool("ok", true));
  }
}

class Length extends Step<Payload> {
  onResult(p: Payload): void {
    this.req.reply(Value.int(p.data.length));
  }
}

class Ignore extends Callback {
  onCallback(_p: Payload): void {}
}

class Opened extends Step<Payload> {
  call: Call | null = null;
  onResult(_p: Payload): void {
    this.call!.drop();
    this.req.reply(Value.object().setBool("ok", true));
  }
}

listen("echo", (req: Request): void => {
  req.replyWith(req.format, req.data);
});
listen("now", (req: Request): void => {
  now(new Done<u64>(req));
});
listen("nap", (req: Request): void => {
  sleep(1, new Done<Value>(req));
});
listen("big", (req: Request): void => {
  new Call("os", "echo.echo").send(Format.Raw, new Uint8Array(3000), new Length(req));
});
listen("strict", (req: Request): void => {
  const v = req.value();
  if (v == null || !v.isObject()) req.fault(Code.BadRequest, "strict wants an object");
  else req.reply(v);
});
listen("keep", (req: Request): void => {
  req.keepAlive();
  req.reply(Value.object().setBool("kept", req.kept));
});
listen("use", (req: Request): void => {
  const opened = new Opened(req);
  opened.call = new Call("leak-rs", "counter.open").keepAlive().callback("on_change", new Ignore()).send(Format.Json, utf8Bytes('{"start":0}'), opened);
});
listen("stats", (req: Request): void => {
  req.reply(Value.object().setInt("handles", liveHandles()).setInt("pages", memory.size()));
});
