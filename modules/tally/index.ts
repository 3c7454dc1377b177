// tally: a counter in the host's key-value store (os kv.*), under one key. JSON topics:
//   incr {"by": 1} -> {"count": n}    get {} -> {"count": n}
// Instances do not share memory (calls are served by a pool of them, in any isolate), so the
// count lives in the store, and incr is a read-modify-write that never loses an update:
// kv.read gives the count and its version, kv.cas writes count + by only if the version is
// still the one read, and where another call wrote in between, incr reads again and retries,
// after a short random pause that grows with each lost race (so that a crowd of callers spreads
// out instead of colliding again and again).
import {
  bytesToU64, Code, KvEntry, kvGet, kvCas, kvRead, KvSwap, listen, Request, sleep, Step, u64ToBytes, Value,
} from "../../sdk/assemblyscript/assembly";
export * from "../../sdk/assemblyscript/assembly/exports";

const KEY = "count";
/** A call that loses this many swaps in a row gives up (Busy) rather than spin; its timeout would end it anyway. */
const MAX_TRIES = 1000;

/** xorshift32: the pauses' jitter (Math.random would need an import the host does not give). */
let seed: u32 = 0x9e3779b9;
function jitter(tries: i32): u64 {
  seed ^= seed << 13;
  seed ^= seed >> 17;
  seed ^= seed << 5;
  const cap: u32 = 1 << <u32>min(tries, 8); // 2, 4, ... 256 ms
  return <u64>(seed % cap);
}

/** The count and its version arrived: write count + by if nobody writes first. */
class Read extends Step<KvEntry> {
  constructor(req: Request, public by: u64, public tries: i32) {
    super(req);
  }

  onResult(entry: KvEntry): void {
    const count = bytesToU64(entry.value);
    if (count + this.by < count) {
      this.req.fault(Code.LimitExceeded, "the count would pass 2^64 - 1");
      return;
    }
    const next = count + this.by;
    kvCas(KEY, entry.version, u64ToBytes(next), new Swapped(this.req, this.by, this.tries, next));
  }
}

/** The swap's outcome: done, or another call won the race and we go again. */
class Swapped extends Step<KvSwap> {
  constructor(req: Request, public by: u64, public tries: i32, public next: u64) {
    super(req);
  }

  onResult(swap: KvSwap): void {
    if (swap.ok) {
      this.req.reply(Value.object().set("count", Value.uint(this.next)));
    } else if (this.tries >= MAX_TRIES) {
      this.req.fault(Code.Busy, "incr lost " + this.tries.toString() + " compare-and-sets in a row");
    } else {
      sleep(jitter(this.tries), new Paused(this.req, this.by, this.tries + 1));
    }
  }
}

/** After the pause: read again. */
class Paused extends Step<Value> {
  constructor(req: Request, public by: u64, public tries: i32) {
    super(req);
  }

  onResult(_: Value): void {
    kvRead(KEY, new Read(this.req, this.by, this.tries));
  }
}

class Got extends Step<Uint8Array | null> {
  onResult(value: Uint8Array | null): void {
    this.req.reply(Value.object().set("count", Value.uint(bytesToU64(value))));
  }
}

listen("incr", (req: Request): void => {
  const body = req.value();
  const by = body != null ? body.get("by") : null;
  if (by == null || !by.isInteger() || by.asInt() < 0 || by.asInt() > <i64>u32.MAX_VALUE) {
    req.fault(Code.BadRequest, "incr wants {\"by\": u32}");
    return;
  }
  kvRead(KEY, new Read(req, <u64>by.asInt(), 1));
});

listen("get", (req: Request): void => {
  kvGet(KEY, new Got(req));
});
