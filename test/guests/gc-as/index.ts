// The AssemblyScript SDK's collection policy: garbage must be gone before a full memory needs it.
import { Format, listen, Request, Value } from "../../../sdk/assemblyscript/assembly";
export * from "../../../sdk/assemblyscript/assembly/exports";

const held: Array<Uint8Array> = [];
let heldBytes: i64 = 0;

/** Kept in 1 KiB copies: many small live objects, as a real heap holds, and no large holes between them. */
function hold(req: Request): void {
  const data = req.data;
  for (let i = 0; i < data.length; i += 1024) held.push(data.slice(i, min(i + 1024, data.length)));
  heldBytes += data.length;
  req.replyWith(Format.Raw, new Uint8Array(0));
}

function echo(req: Request): void {
  req.replyWith(Format.Raw, req.data);
}

/** Garbage from a small request: kib buffers of 1 KiB, dropped at once. */
function churn(req: Request): void {
  const body = req.value();
  const kib = body != null && body.get("kib") != null ? <i32>body.get("kib")!.asInt() : 0;
  let sum: i32 = 0;
  for (let i = 0; i < kib; i++) {
    const b = new Uint8Array(1024);
    b[i & 1023] = <u8>i;
    sum += b[0];
  }
  req.reply(Value.object().setInt("kib", kib).setInt("sum", sum));
}

function stats(req: Request): void {
  req.reply(Value.object().setInt("pages", memory.size()).setInt("held", heldBytes));
}

listen("hold", hold);
listen("echo", echo);
listen("churn", churn);
listen("stats", stats);
