import { pack, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { Code } from "../src/abi.js";
import { guestApp } from "./helpers.js";

/**
 * A map's keys through a bincode module (test/guests/keys, which answers with its request's
 * bytes): a JSON or msgpack caller's keys are strings, taken as serde_json reads them and written
 * to bincode as the key's type, and back; a key type serde_json cannot read is refused before the
 * guest runs, in the same words from JSON and msgpack.
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

  it("refuses a tuple key before the guest runs, the same from JSON and msgpack", async () => {
    const { app, call } = guestApp();
    const said = "request key: a map's key cannot be a tuple over JSON or msgpack: their keys are strings, which serde_json reads as a string, an integer, a float, a bool or a unit variant's name";
    for (const res of [await call("keys", "pairs", '{"1,2":3}'), await msgpackCall(app, "pairs", pack({ "1,2": 3 }))]) {
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: Code.BadRequest, error: said });
    }
  });

  it("refuses a reply's tuple keys for a JSON or msgpack caller by name, where they came as \"1,2\"; an empty map comes back", async () => {
    const { app, call } = guestApp();
    // triples answers [[1, 2, 3]] as the map {(1, 2): 3}
    const said = "the reply of module keys to triples cannot be transcoded into %s for its caller: cannot encode as %s: a map's key cannot be a tuple over JSON or msgpack: their keys are strings, which serde_json reads as a string, an integer, a float, a bool or a unit variant's name";
    for (const [res, format] of [[await call("keys", "triples", "[[1,2,3]]"), "json"], [await msgpackCall(app, "triples", pack([[1, 2, 3]])), "msgpack"]] as const) {
      expect(res.status).toBe(500);
      expect(await res.json()).toMatchObject({ codeName: "SerializationFailed", error: said.replaceAll("%s", format) });
    }
    const empty = await call("keys", "triples", "[]");
    expect(empty.status, await empty.clone().text()).toBe(200);
    expect(await empty.json()).toEqual({});
  });

  it("gives a msgpack module's -0.0 key to a JSON caller as \"-0.0\", as serde_json writes it, where it came as \"0.0\"", async () => {
    const { call } = guestApp();
    // "-0" reaches msgpack-floats as the f64 -0.0 (as serde_json reads it), which it answers with
    const res = await call("keys", "msgpack-floats", '{"-0":1,"0":2}');
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual({ "-0.0": 1, "0.0": 2 });
  });
});
