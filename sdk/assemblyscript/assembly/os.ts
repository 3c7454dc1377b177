/**
 * The host's built-in services (wapm "os"), typed. All go as MessagePack, so
 * bytes travel as bin and nothing is transcoded.
 */
import { Code, Format, OS_WAPM } from "./abi";
import { Call } from "./call";
import { Adapter, Handler } from "./handler";
import { encodeMsgpack } from "./msgpack";
import { Payload } from "./payload";
import { Value } from "./value";

/** time.sleep: the handler's onResult gets null after `ms` milliseconds. Dropping the call wakes it early. */
export function sleep(ms: u64, handler: Handler<Value>): Call {
  return new Call(OS_WAPM, "time.sleep").sendValue(Format.Msgpack, Value.object().setInt("duration_ms", <i64>ms), handler);
}

/** time.now: milliseconds since the Unix epoch. */
export function now(handler: Handler<u64>): Call {
  return new Call(OS_WAPM, "time.now").send(Format.Msgpack, encodeMsgpack(Value.object()), new NowAdapter(handler));
}

export class Header {
  constructor(public name: string, public value: string) {}
}

export class FetchRequest {
  headers: Array<Header> = [];
  body: Uint8Array | null = null;

  constructor(public url: string, public method: string = "GET") {}

  header(name: string, value: string): FetchRequest {
    this.headers.push(new Header(name, value));
    return this;
  }
}

export class FetchResponse {
  status: i32 = 0;
  headers: Array<Header> = [];
  body: Uint8Array = new Uint8Array(0);

  /** A response header (names compare case-insensitively); null when absent. */
  header(name: string): string | null {
    const want = name.toLowerCase();
    for (let i = 0; i < this.headers.length; i++) {
      if (this.headers[i].name.toLowerCase() == want) return this.headers[i].value;
    }
    return null;
  }
}

/**
 * http.fetch: only hosts in the module's fetch.allow. Any HTTP status is a
 * result (redirects are not followed); errors are AccessDenied, FetchFailed,
 * BadRequest (not an http(s) URL) or LimitExceeded (body too large).
 */
export function fetch(req: FetchRequest, handler: Handler<FetchResponse>): Call {
  const headers = Value.array();
  for (let i = 0; i < req.headers.length; i++) {
    const h = req.headers[i];
    headers.push(Value.array().push(Value.str(h.name)).push(Value.str(h.value)));
  }
  const body = req.body;
  const v = Value.object()
    .setString("method", req.method)
    .setString("url", req.url)
    .set("headers", headers)
    .set("body", body == null ? Value.null() : Value.bytes(body));
  return new Call(OS_WAPM, "http.fetch").send(Format.Msgpack, encodeMsgpack(v), new FetchAdapter(handler));
}

class NowAdapter extends Adapter<u64> {
  onResult(payload: Payload): void {
    const v = payload.value();
    if (v == null || !v.isInteger() || v.asInt() < 0) this.inner.onError(Code.DeserializationFailed);
    else this.inner.onResult(<u64>v.asInt());
  }
}

class FetchAdapter extends Adapter<FetchResponse> {
  onResult(payload: Payload): void {
    const res = decodeResponse(payload.value());
    if (res == null) this.inner.onError(Code.DeserializationFailed);
    else this.inner.onResult(res);
  }
}

function decodeResponse(v: Value | null): FetchResponse | null {
  if (v == null) return null;
  const status = v.get("status");
  const body = v.get("body");
  if (status == null || !status.isInteger() || body == null) return null;
  const bytes = body.asBytes();
  if (bytes == null) return null;
  const res = new FetchResponse();
  res.status = <i32>status.asInt();
  res.body = bytes;
  const headers = v.get("headers");
  if (headers != null) {
    for (let i = 0; i < headers.length; i++) {
      const pair = headers.at(i)!;
      const name = pair.at(0);
      const value = pair.at(1);
      if (name != null && value != null) res.headers.push(new Header(name.asString(), value.asString()));
    }
  }
  return res;
}
