import { describe, expect, it } from "vitest";
import { Code, type CodeName } from "../../src/abi.js";
import { BusError, outcome, unwrap } from "../../src/errors.js";
import { errorBody, errorResponse, HttpError, statusOf } from "../../src/http/errors.js";

/** A BusError that passed on the refusal `relayed`, as a module faulting with its own call's code does. */
const relaying = (relayed: BusError, message = "my call failed") => new BusError(relayed.code, message, undefined, relayed);

describe("BusError", () => {
  it("carries a code, its name, the host's message and the module's detail", () => {
    const err = BusError.of("BadRequest", "greet wants a name", "no name");
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("BusError");
    expect(err.code).toBe(12);
    expect(err.codeName).toBe("BadRequest");
    expect(err.message).toBe("greet wants a name");
    expect(err.detail).toBe("no name");
    expect(err.relayed).toBeUndefined();
  });

  it("names a code it does not know Unknown", () => {
    expect(new BusError(999, "x").codeName).toBe("Unknown");
    expect(new BusError(-1, "x").codeName).toBe("Unknown"); // 0xffffffff as an i32
  });

  it("from() keeps a BusError and makes anything else an InternalFailure", () => {
    const err = BusError.of("Timeout", "slow");
    expect(BusError.from(err)).toBe(err);
    const fromError = BusError.from(new RangeError("bad range"));
    expect([fromError.code, fromError.message]).toEqual([Code.InternalFailure, "bad range"]);
    const fromString = BusError.from("just words");
    expect([fromString.code, fromString.message]).toEqual([Code.InternalFailure, "just words"]);
    expect(BusError.from(undefined).message).toBe("undefined");
  });

  it("round-trips through toJSON / JSON text / fromJSON with detail and a relayed chain", () => {
    const inner = BusError.of("CallCycle", "a -> b -> a", "loop");
    const middle = relaying(inner, "b failed");
    const outer = new BusError(Code.BadRequest, "a failed", "a's words", middle);
    const json = JSON.parse(JSON.stringify(outer.toJSON()));
    expect(json).toEqual({
      code: Code.BadRequest,
      message: "a failed",
      detail: "a's words",
      relayed: { code: Code.CallCycle, message: "b failed", relayed: { code: Code.CallCycle, message: "a -> b -> a", detail: "loop" } },
    });
    const back = BusError.fromJSON(json);
    expect(back).toBeInstanceOf(BusError);
    expect([back.code, back.message, back.detail]).toEqual([Code.BadRequest, "a failed", "a's words"]);
    expect(back.relayed).toBeInstanceOf(BusError);
    expect([back.relayed!.code, back.relayed!.message, back.relayed!.detail]).toEqual([Code.CallCycle, "b failed", undefined]);
    expect(back.relayed!.relayed).toBeInstanceOf(BusError);
    expect([back.relayed!.relayed!.message, back.relayed!.relayed!.detail]).toEqual(["a -> b -> a", "loop"]);
    expect(back.relayed!.relayed!.relayed).toBeUndefined();
    expect(statusOf(back)).toBe(statusOf(outer));
  });

  it("toJSON is plain data that survives structured clone (Workers RPC)", () => {
    const json = relaying(BusError.of("Timeout", "t")).toJSON();
    expect(structuredClone(json)).toEqual(json);
  });
});

describe("outcome and unwrap", () => {
  it("wrap a value, sync or async, and hand it back", async () => {
    const sync = await outcome(() => 42);
    expect(sync).toEqual({ ok: true, value: 42 });
    expect(unwrap(sync)).toBe(42);
    const later = await outcome(async () => ({ a: [1] }));
    expect(unwrap(later)).toEqual({ a: [1] });
  });

  it("wrap a thrown BusError as data and throw it again, detail and relayed kept", async () => {
    const err = new BusError(Code.FetchFailed, "upstream", "dns", BusError.of("Timeout", "inner"));
    const result = await outcome(async () => {
      throw err;
    });
    expect(result.ok).toBe(false);
    expect(structuredClone(result)).toEqual(result);
    let thrown: unknown;
    try {
      unwrap(result);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(BusError);
    const back = thrown as BusError;
    expect([back.code, back.message, back.detail]).toEqual([Code.FetchFailed, "upstream", "dns"]);
    expect(back.relayed?.codeName).toBe("Timeout");
  });

  it("make another throwable an InternalFailure", async () => {
    const result = await outcome(() => {
      throw new TypeError("oops");
    });
    expect(result).toEqual({ ok: false, error: { code: Code.InternalFailure, message: "oops", detail: undefined, relayed: undefined } });
    expect(() => unwrap(result)).toThrowError(new BusError(Code.InternalFailure, "oops"));
  });
});

describe("statusOf", () => {
  const table: [CodeName, number][] = [
    ["InvalidWapm", 404],
    ["InvalidTopic", 404],
    ["NotFound", 404],
    ["DeserializationFailed", 400],
    ["BadRequest", 400],
    ["InvalidUtf8", 400],
    ["Unauthorized", 401],
    ["AccessDenied", 403],
    ["MethodNotAllowed", 405],
    ["LimitExceeded", 413],
    ["Unsupported", 501],
    ["FetchFailed", 502],
    ["Timeout", 504],
    ["CallCycle", 508],
    ["SerializationFailed", 500],
    ["GuestTrapped", 500],
    ["InternalFailure", 500],
    ["InvalidPointer", 500],
    ["MemoryAllocationFailed", 500],
    ["Aborted", 500],
    ["InvalidHandle", 500],
    ["Unknown", 500],
  ];

  it.each(table)("%s is %i", (name, status) => {
    expect(statusOf(BusError.of(name, "x"))).toBe(status);
  });

  it("a code outside the table is 500", () => {
    expect(statusOf(new BusError(12345, "x"))).toBe(500);
  });

  it("a relayed 4xx is the module's failure: 502", () => {
    for (const name of ["BadRequest", "InvalidTopic", "AccessDenied", "LimitExceeded", "Unauthorized"] as const) {
      expect(statusOf(relaying(BusError.of(name, "refused")))).toBe(502);
    }
  });

  it("a relayed 5xx keeps its status", () => {
    expect(statusOf(relaying(BusError.of("CallCycle", "cycle")))).toBe(508);
    expect(statusOf(relaying(BusError.of("Timeout", "slow")))).toBe(504);
    expect(statusOf(relaying(BusError.of("Unsupported", "no")))).toBe(501);
    expect(statusOf(relaying(BusError.of("GuestTrapped", "trap")))).toBe(500);
  });

  it("follows a relayed chain to its end, whatever the outer code", () => {
    expect(statusOf(relaying(relaying(BusError.of("BadRequest", "deep"))))).toBe(502);
    expect(statusOf(relaying(relaying(BusError.of("Timeout", "deep"))))).toBe(504);
    expect(statusOf(new BusError(Code.BadRequest, "outer", undefined, BusError.of("CallCycle", "c")))).toBe(508);
  });

  it("a module's own failure makes its 4xx a 502 and keeps a 5xx, also across RPC as JSON", () => {
    const own = (name: CodeName) => new BusError(Code[name], "module m faulted the call", "its words", undefined, true);
    expect(statusOf(own("InvalidTopic"))).toBe(502);
    expect(statusOf(own("InvalidWapm"))).toBe(502);
    expect(statusOf(own("Timeout"))).toBe(504);
    expect(statusOf(relaying(own("InvalidTopic")))).toBe(502);
    const back = BusError.fromJSON(JSON.parse(JSON.stringify(own("InvalidTopic").toJSON())));
    expect([back.ownFailure, back.relayed, statusOf(back)]).toEqual([true, undefined, 502]);
    // only where set: every other error's JSON is as it was
    expect(BusError.of("InvalidTopic", "x").toJSON()).not.toHaveProperty("ownFailure");
    expect(statusOf(BusError.fromJSON(BusError.of("InvalidTopic", "x").toJSON()))).toBe(404);
  });

  it("an HttpError answers its own status, also when relayed", () => {
    const err = new HttpError("Unsupported", "cannot transcode", 415);
    expect(err).toBeInstanceOf(BusError);
    expect(err.code).toBe(Code.Unsupported);
    expect(err.codeName).toBe("Unsupported");
    expect(statusOf(err)).toBe(415);
    expect(statusOf(new HttpError("NotFound", "no process", 404))).toBe(404);
    expect(statusOf(relaying(new HttpError("Unsupported", "upgrade", 426)))).toBe(502);
  });
});

describe("errorBody", () => {
  it("is {error, code, codeName} and nothing else for a bare error", () => {
    const body = errorBody(BusError.of("Timeout", "too slow"));
    expect(body).toEqual({ error: "too slow", code: Code.Timeout, codeName: "Timeout" });
    expect(Object.keys(body)).toEqual(["error", "code", "codeName"]);
  });

  it("adds module, topic and detail where there are some", () => {
    const body = errorBody(BusError.of("BadRequest", "bad", "the module's words"), { module: "hello", topic: "greet" });
    expect(body).toEqual({ error: "bad", code: 12, codeName: "BadRequest", module: "hello", topic: "greet", detail: "the module's words" });
    expect(Object.keys(body)).toEqual(["error", "code", "codeName", "module", "topic", "detail"]);
    expect(errorBody(BusError.of("BadRequest", "bad"), { module: "hello" })).toEqual({ error: "bad", code: 12, codeName: "BadRequest", module: "hello" });
  });

  it("makes anything thrown a body, an InternalFailure", () => {
    expect(errorBody(new Error("kaput"))).toEqual({ error: "kaput", code: Code.InternalFailure, codeName: "InternalFailure" });
  });

  it("does not leak the relayed chain", () => {
    expect(errorBody(relaying(BusError.of("BadRequest", "inner secret")))).not.toHaveProperty("relayed");
  });
});

describe("errorResponse", () => {
  it("answers the status and the one body as JSON", async () => {
    const res = errorResponse(BusError.of("InvalidTopic", "no topic x"), { module: "m", topic: "x" });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ error: "no topic x", code: Code.InvalidTopic, codeName: "InvalidTopic", module: "m", topic: "x" });
  });

  it("asks for a bearer token on Unauthorized, and passes other headers on", async () => {
    const res = errorResponse(BusError.of("Unauthorized", "token"));
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="wasm-bus"');
    const allow = errorResponse(BusError.of("MethodNotAllowed", "POST only"), {}, { allow: "POST" });
    expect(allow.status).toBe(405);
    expect(allow.headers.get("allow")).toBe("POST");
    expect(allow.headers.get("www-authenticate")).toBeNull();
  });
});
