// fetcher: topic "fetch", JSON. {"url": "...", "delayMs": 100}
// sleeps delayMs on the bus (os time.sleep), fetches url (os http.fetch, GET,
// MessagePack so the body arrives as bin), and replies
// {"status": 200, "bytes": <body length>, "sleptMs": <time.now after - before the sleep>}.
// A failed bus call faults the request with the code it failed with (Step's default).
import { fetch, FetchRequest, FetchResponse, now, Code, Request, listen, sleep, Step, Value } from "../../sdk/assemblyscript/assembly";
export * from "../../sdk/assemblyscript/assembly/exports";

/** What the steps of one request share. */
class Job {
  t0: u64 = 0;
  sleptMs: u64 = 0;
  constructor(public url: string, public delayMs: u64) {}
}

/** Each step gets the request (Step) and the job, and starts the next call. */
abstract class JobStep<T> extends Step<T> {
  constructor(req: Request, public job: Job) {
    super(req);
  }
}

class Started extends JobStep<u64> {
  onResult(t0: u64): void {
    this.job.t0 = t0;
    sleep(this.job.delayMs, new Slept(this.req, this.job));
  }
}

class Slept extends JobStep<Value> {
  onResult(_: Value): void {
    now(new Woke(this.req, this.job));
  }
}

class Woke extends JobStep<u64> {
  onResult(t1: u64): void {
    this.job.sleptMs = t1 > this.job.t0 ? t1 - this.job.t0 : 0;
    fetch(new FetchRequest(this.job.url), new Fetched(this.req, this.job));
  }
}

class Fetched extends JobStep<FetchResponse> {
  onResult(res: FetchResponse): void {
    this.req.reply(
      Value.object()
        .setInt("status", res.status)
        .setInt("bytes", res.body.length)
        .setInt("sleptMs", <i64>this.job.sleptMs),
    );
  }
}

function start(req: Request): void {
  const body = req.value();
  const url = body != null ? body.getString("url") : null;
  const delay = body != null ? body.get("delayMs") : null;
  // delayMs may be left out (no sleep); otherwise a non-negative integer.
  if (url == null || (delay != null && !delay.isNull() && (!delay.isInteger() || delay.asInt() < 0))) {
    req.fault(Code.BadRequest, "fetch wants {\"url\": string, \"delayMs\"?: non-negative integer}");
    return;
  }
  const ms: u64 = delay != null ? <u64>delay.asInt() : 0;
  now(new Started(req, new Job(url, ms)));
}

listen("fetch", start);
