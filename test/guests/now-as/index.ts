// The AssemblyScript SDK on ABI v2: whether a call's result came inside call_now
// (Call.immediate, onResult before send returned) or later through wasm_bus_finish.
import { Call, Format, Handler, listen, now, OS_WAPM, Payload, Request, sleep, Step, Value } from "../../../sdk/assemblyscript/assembly";
export * from "../../../sdk/assemblyscript/assembly/exports";

function intField(v: Value | null, key: string, otherwise: i32): i32 {
  if (v == null) return otherwise;
  const x = v.get(key);
  if (x == null || !x.isInteger()) return otherwise;
  return <i32>x.asInt();
}

/** Set once send has returned: a result that comes before sees it false. */
let sent = false;

class Report<T> extends Step<T> {
  call: Call | null = null;
  beforeReturn: bool = false;
  onResult(value: T): void {
    this.beforeReturn = !sent;
    this.req.reply(Value.object().setBool("immediate", this.call == null ? !sent : this.call!.immediate).setBool("beforeReturn", this.beforeReturn).setBool("ok", true));
  }
}

function timeNow(req: Request): void {
  sent = false;
  const r = new Report<u64>(req);
  r.call = now(r);
  sent = true;
}

function timeSleep(req: Request): void {
  sent = false;
  const r = new Report<Value>(req);
  r.call = sleep(5, r);
  sent = true;
}

class EchoCheck extends Step<Payload> {
  call: Call | null = null;
  constructor(req: Request, public data: Uint8Array) {
    super(req);
  }
  onResult(p: Payload): void {
    let same = p.data.length == this.data.length && p.format == Format.Raw;
    for (let i = 0; same && i < this.data.length; i++) same = p.data[i] == this.data[i];
    this.req.reply(Value.object().setBool("immediate", this.call!.immediate).setBool("same", same).setInt("len", p.data.length));
  }
}

function echo(req: Request): void {
  const v = req.value();
  const n = intField(v, "n", 16);
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = <u8>(i * 31);
  const h = new EchoCheck(req, data);
  h.call = new Call(OS_WAPM, "echo.echo").send(Format.Raw, data, h);
}

/** Calls time.now n times, each from the previous result: the SDK must not nest them. */
class Chain extends Step<u64> {
  left: i32 = 0;
  done: i32 = 0;
  depth: i32 = 0;
  maxDepth: i32 = 0;
  onResult(value: u64): void {
    this.done++;
    this.depth++;
    if (this.depth > this.maxDepth) this.maxDepth = this.depth;
    if (--this.left > 0) now(this);
    else this.req.reply(Value.object().setInt("done", this.done).setInt("maxDepth", this.maxDepth));
    this.depth--;
  }
}

function chain(req: Request): void {
  const v = req.value();
  const c = new Chain(req);
  c.left = intField(v, "n", 1000);
  now(c);
}

class ModuleReport extends Step<Payload> {
  call: Call | null = null;
  onResult(p: Payload): void {
    this.req.reply(Value.object().setBool("immediate", this.call!.immediate).setString("reply", p.text()));
  }
}

function toModule(req: Request, topic: string): void {
  const r = new ModuleReport(req);
  r.call = new Call("ticks", topic).send(Format.Json, Uint8Array.wrap(String.UTF8.encode("{}")), r);
}

/** A call made at start-up, outside any event: it goes through v1's call, its result through wasm_bus_finish. */
class Startup extends Handler<u64> {
  done: bool = false;
  onResult(value: u64): void {
    this.done = value > 0;
  }
}
const startup = new Startup();
const startupCall = now(startup);

listen("startup", (req: Request): void => {
  req.reply(Value.object().setBool("immediate", startupCall.immediate).setBool("done", startup.done));
});
listen("now", timeNow);
listen("sleep", timeSleep);
listen("echo", echo);
listen("chain", chain);
listen("module", (req: Request): void => toModule(req, "count"));
listen("module-later", (req: Request): void => toModule(req, "wait"));
