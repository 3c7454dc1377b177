import { pack, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { Code } from "../src/abi.js";
import { guestApp } from "./helpers.js";

/**
 * A map's keys through a bincode or msgpack module (test/guests/keys, which answers with its
 * request's bytes): a JSON caller's keys are strings, taken as serde_json reads them and written
 * to the topic's format as the key's type, and back; a key type serde_json cannot read is refused
 * before the guest runs. A msgpack caller's keys of such a type (a tuple's array) travel to and
 * from bincode and msgpack modules as they are.
 */
/** A msgpack call to keys (guestApp's call sends JSON), answered in msgpack. */
function msgpackCall(app: ReturnType<typeof guestApp>["app"], topic: string, body: Uint8Array) {
  return app.request(`/call/keys/${topic}`, { method: "POST", headers: { "content-type": "application/msgpack", accept: "application/msgpack" }, body });
}

describe("a map's keys through a bincode module", () => {
  it("takes float keys, whole or not, there and back", async () => {
    const { call } = guestApp();
    const res = await call("keys", "floats", '{"1":3,"1.5":2,"-2e-1":1}');
    expect(res.status, await res.clone().text()).toBe(200);
    // the keys as serde_json writes them: 1.0 is "1.0", not "1"
    expect(await res.json()).toEqual({ "1.0": 3, "1.5": 2, "-0.2": 1 });
  });

  it("takes bool keys, from JSON and from msgpack", async () => {
    const { app, call } = guestApp();
    const res = await call("keys", "bools", '{"true":1,"false":0}');
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual({ true: 1, false: 0 });
    const mp = await msgpackCall(app, "bools", pack(new Map([[true, 1]])));
    expect(mp.status).toBe(200);
    expect(unpack(new Uint8Array(await mp.arrayBuffer()))).toEqual({ true: 1 });
  });

  it("refuses a JSON caller's tuple key before the guest runs; a msgpack caller's, an array as rmp-serde writes it, travels there and back", async () => {
    const { app, call } = guestApp();
    const said = "request key: a map's key cannot be a tuple over JSON: its keys are strings, which serde_json reads as a string, an integer, a float, a bool or a unit variant's name";
    const res = await call("keys", "pairs", '{"1,2":3}');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: Code.BadRequest, error: said });
    // a str key is no tuple's, to the check as to rmp-serde
    const str = await msgpackCall(app, "pairs", pack({ "1,2": 3 }));
    expect(str.status).toBe(400);
    expect(await str.json()).toMatchObject({ code: Code.BadRequest, error: "request key: expected an array of 2, got a string (1,2)" });
    const mp = await msgpackCall(app, "pairs", pack(new Map([[[1, 2], 3]])));
    expect(mp.status, await mp.clone().text()).toBe(200);
    expect(Buffer.from(await mp.arrayBuffer()).toString("hex")).toBe("8192010203");
  });

  it("refuses a reply's tuple keys for a JSON caller by name, where they came as \"1,2\"; a msgpack caller gets them as arrays; an empty map comes back", async () => {
    const { app, call } = guestApp();
    // triples answers [[1, 2, 3]] as the map {(1, 2): 3}
    const res = await call("keys", "triples", "[[1,2,3]]");
    expect(res.status).toBe(500);
    const said = "the reply of module keys to triples cannot be transcoded into json for its caller: cannot encode as json: a map's key cannot be a tuple over JSON: its keys are strings, which serde_json reads as a string, an integer, a float, a bool or a unit variant's name";
    expect(await res.json()).toMatchObject({ codeName: "SerializationFailed", error: said });
    const mp = await msgpackCall(app, "triples", pack([[1, 2, 3]]));
    expect(mp.status, await mp.clone().text()).toBe(200);
    expect(Buffer.from(await mp.arrayBuffer()).toString("hex")).toBe("8192010203");
    const empty = await call("keys", "triples", "[]");
    expect(empty.status, await empty.clone().text()).toBe(200);
    expect(await empty.json()).toEqual({});
  });

  it("carries a msgpack module's tuple keys to and from a bincode caller; a JSON caller's are refused before it runs", async () => {
    const { app, call } = guestApp();
    // {(1, 2): 3}: the request reaches msgpack-pairs as {[1, 2]: 3}, which it answers with
    const pair = "0100000000000000010203";
    const res = await app.request("/call/keys/msgpack-pairs", {
      method: "POST",
      headers: { "content-type": "application/x-bincode", accept: "application/x-bincode" },
      body: Buffer.from(pair, "hex"),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).toString("hex")).toBe(pair);
    const json = await call("keys", "msgpack-pairs", '{"1,2":3}');
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ code: Code.BadRequest, error: "request key: a map's key cannot be a tuple over JSON: its keys are strings, which serde_json reads as a string, an integer, a float, a bool or a unit variant's name" });
  });

  it("gives a msgpack module's -0.0 key to a JSON caller as \"-0.0\", as serde_json writes it, where it came as \"0.0\"", async () => {
    const { call } = guestApp();
    // "-0" reaches msgpack-floats as the f64 -0.0 (as serde_json reads it), which it answers with
    const res = await call("keys", "msgpack-floats", '{"-0":1,"0":2}');
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual({ "-0.0": 1, "0.0": 2 });
  });
});
