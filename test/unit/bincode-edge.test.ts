/// <reference types="node" />
import { resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Format } from "../../src/abi.js";
import { HttpError } from "../../src/http/errors.js";
import { callPayload } from "../../src/http/request.js";
import { decode, encode, transcode } from "../../src/codec/index.js";
import { type Scripted, scriptedRuntime } from "../fuzz/scripted.js";

const root = resolve(__dirname, "../..");
let open: Scripted | undefined;
afterEach(() => {
  open?.close();
  open = undefined;
});

describe("a bincode caller of a topic in another format needs both of its types", () => {
  it("without the topic's response type, the request is refused (415) before the module runs, not its reply after (500)", async () => {
    let served = 0;
    open = await scriptedRuntime(root, {
      svc: {
        // a request type, no response type
        manifest: { topics: { go: { format: "json", request: { struct: { n: "u8" } } }, both: { format: "json", request: { struct: { n: "u8" } }, response: "bool" } } },
        script: {
          start(g, c) {
            served++;
            g.reply(c.handle, "true", Format.Json);
          },
        },
      },
    });
    const bincode = (topic: string) =>
      callPayload(open!.runtime, new Request("http://x/", { method: "POST", headers: { "content-type": "application/x-bincode" }, body: new Uint8Array([5]) }), "svc", topic);
    const err = await bincode("go").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toMatchObject({ status: 415, message: "bincode needs the reply's types, and topic go declares none" });
    expect(served).toBe(0);
    // with both types it goes through, and the reply comes back in bincode
    const reply = await open.runtime.request("svc", "both", await bincode("both"));
    expect(reply).toEqual({ format: Format.Bincode, data: new Uint8Array([1]) });
    expect(served).toBe(1);
  });
});

describe("a bincode string that starts with U+FEFF", () => {
  // Bincode (serde's String::from_utf8) keeps every byte; TextDecoder's default drops a leading
  // BOM, which made kv.list {prefix: "\ufeff"} list from "" and kv.put of "\ufeffk" write "k".
  const schema = { struct: { key: "string", rest: { seq: "string" } } } as const;
  const value = { key: "\ufeffk", rest: ["\ufeff", "a\ufeff", "\ufeff\ufeff"] };

  it("keeps it, read alone or as an element, and transcoded to json and msgpack", () => {
    const bytes = encode(Format.Bincode, value, schema);
    expect(decode(Format.Bincode, bytes, schema)).toEqual(value);
    for (const to of [Format.Json, Format.Msgpack]) {
      const out = transcode({ format: Format.Bincode, data: bytes }, to, schema);
      expect(decode(to, out.data, schema), String(to)).toEqual(value);
    }
  });
});
