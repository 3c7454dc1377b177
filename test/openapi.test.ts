import { describe, expect, it } from "vitest";
import { Code } from "../src/abi.js";
import type { Schema } from "../src/codec/schema.js";
import { jsonSchemaOf } from "../src/http/json-schema.js";
import { openApiDocument } from "../src/http/openapi.js";
import { parseManifest } from "../src/manifest.js";
import { worker } from "./worker.js";

describe("JSON Schema from the schema language", () => {
  it("gives scalars their JSON types, small integers their exact range", () => {
    expect(jsonSchemaOf("unit")).toEqual({ type: "null" });
    expect(jsonSchemaOf("bool")).toEqual({ type: "boolean" });
    expect(jsonSchemaOf("string")).toEqual({ type: "string" });
    expect(jsonSchemaOf("u8")).toEqual({ type: "integer", minimum: 0, maximum: 255 });
    expect(jsonSchemaOf("i16")).toEqual({ type: "integer", minimum: -32768, maximum: 32767 });
    expect(jsonSchemaOf("u32")).toEqual({ type: "integer", minimum: 0, maximum: 4294967295 });
    expect(jsonSchemaOf("i32")).toEqual({ type: "integer", format: "int32", minimum: -2147483648, maximum: 2147483647 });
    expect(jsonSchemaOf("f64")).toEqual({ type: "number", format: "double" });
    expect(jsonSchemaOf("bytes")).toMatchObject({ type: "array", items: { type: "integer", minimum: 0, maximum: 255 } });
  });

  it("states only the bounds of 64- and 128-bit integers it can state exactly", () => {
    // 2^64 - 1 as a JSON number would be read back as 18446744073709552000, over the range.
    expect(jsonSchemaOf("u64")).toMatchObject({ type: "integer", minimum: 0 });
    expect(jsonSchemaOf("u64")).not.toHaveProperty("maximum");
    expect(jsonSchemaOf("i64")).toMatchObject({ type: "integer", format: "int64" });
    expect(jsonSchemaOf("i64")).not.toHaveProperty("minimum");
    expect(jsonSchemaOf("u128")).toMatchObject({ type: "integer", minimum: 0 });
    expect(jsonSchemaOf("i128")).toEqual(expect.objectContaining({ type: "integer" }));
  });

  it("makes options nullable, and optional in a struct; other fields required; unknown fields allowed (serde ignores them)", () => {
    expect(jsonSchemaOf({ struct: { name: "string", to: { option: "string" } } })).toEqual({
      type: "object",
      properties: { name: { type: "string" }, to: { type: ["string", "null"] } },
      required: ["name"],
    });
    expect(jsonSchemaOf({ struct: {} })).toEqual({ type: "object", properties: {} });
    expect(jsonSchemaOf({ option: { struct: { a: "u8" } } })).toMatchObject({ type: ["object", "null"] });
    const a = { type: "object", properties: { A: { type: "null" } }, required: ["A"], additionalProperties: false };
    expect(jsonSchemaOf({ option: { enum: { A: null } } })).toEqual({ anyOf: [{ oneOf: [{ anyOf: [{ const: "A" }, a] }] }, { type: "null" }] });
  });

  it("gives sequences items, tuples exact prefixItems, maps additionalProperties with numeric keys as digits", () => {
    expect(jsonSchemaOf({ seq: "u64" })).toMatchObject({ type: "array", items: { type: "integer", minimum: 0 } });
    expect(jsonSchemaOf({ tuple: ["string", "bool"] })).toEqual({ type: "array", prefixItems: [{ type: "string" }, { type: "boolean" }], items: false, minItems: 2, maxItems: 2 });
    expect(jsonSchemaOf({ map: ["string", "f32"] })).toEqual({ type: "object", additionalProperties: { type: "number", format: "float" } });
    expect(jsonSchemaOf({ map: ["u32", "bool"] })).toEqual({ type: "object", additionalProperties: { type: "boolean" }, propertyNames: { pattern: "^(?:0|[1-9][0-9]*)$" } });
    expect(jsonSchemaOf({ map: ["i64", "bool"] })).toMatchObject({ propertyNames: { pattern: "^(?:0|-?[1-9][0-9]*)$" } });
  });

  it("describes the keys of every key type serde_json reads, and a refused key type's map as empty", () => {
    const keysOf = (key: Schema) => jsonSchemaOf({ map: [key, "u8"] });
    expect(keysOf("f64")).toEqual({ type: "object", additionalProperties: jsonSchemaOf("u8"), propertyNames: { pattern: "^-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$" } });
    expect(keysOf("f32").propertyNames).toEqual(keysOf("f64").propertyNames);
    expect(keysOf("bool").propertyNames).toEqual({ enum: ["true", "false"] });
    // a unit variant's name; a variant holding a value, () too, is no key
    expect(keysOf({ enum: { Red: null, Green: "unit", Rgb: { tuple: ["u8", "u8", "u8"] } } }).propertyNames).toEqual({ enum: ["Red"] });
    // a key is never None: an option's keys are its inner type's
    expect(keysOf({ option: "bool" })).toEqual(keysOf("bool"));
    expect(keysOf({ option: { option: "i8" } })).toEqual(keysOf("i8"));
    expect(keysOf("string")).not.toHaveProperty("propertyNames");
    const refusedKeys: Schema[] = ["unit", "bytes", { tuple: ["u8", "u8"] }, { seq: "u8" }, { struct: {} }, { map: ["u8", "u8"] }, { option: "unit" }, { enum: { Rgb: "u8" } }, { enum: { Nothing: "unit" } }];
    for (const refused of refusedKeys) {
      const map = keysOf(refused);
      expect(map).toMatchObject({ type: "object", maxProperties: 0 });
      expect(map.description).toMatch(/^a map's key cannot be .* over JSON: /);
      expect(map).not.toHaveProperty("propertyNames");
    }
  });

  it("tags enums externally, as serde: a unit variant is its name or {Name: null}, others {Name: value}, () too", () => {
    expect(jsonSchemaOf({ enum: { Ping: null, Say: "string", Move: { struct: { x: "i32" } }, Nothing: "unit" } })).toEqual({
      oneOf: [
        { anyOf: [{ const: "Ping" }, { type: "object", properties: { Ping: { type: "null" } }, required: ["Ping"], additionalProperties: false }] },
        { type: "object", properties: { Say: { type: "string" } }, required: ["Say"], additionalProperties: false },
        {
          type: "object",
          properties: { Move: { type: "object", properties: { x: { type: "integer", format: "int32", minimum: -2147483648, maximum: 2147483647 } }, required: ["x"] } },
          required: ["Move"],
          additionalProperties: false,
        },
        // serde reads no name alone for a variant holding (): "expected newtype variant"
        { type: "object", properties: { Nothing: { type: "null" } }, required: ["Nothing"], additionalProperties: false },
      ],
    });
  });
});

describe("the OpenAPI document", () => {
  const manifest = parseManifest("demo", {
    description: "A demo.",
    topics: {
      "thing.get": { format: "json", request: { struct: { id: "u32" } }, response: { seq: "string" }, callbacks: { changed: "u64" } },
      loose: { format: "json" },
      blob: { format: "raw" },
    },
  });

  it("has one operation per module and topic with its schemas, media types and errors", () => {
    const doc = openApiDocument([{ name: "demo", manifest }, { name: "broken", manifest, error: new Error("no") }], { server: "http://bus.test" });
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.servers).toEqual([{ url: "http://bus.test" }]);
    const paths = doc.paths as Record<string, Record<string, any>>;
    const op = paths["/call/demo/thing.get"]!.post;
    expect(op.operationId).toBe("call.demo.thing.get");
    expect(op.tags).toEqual(["demo"]);
    expect(op.requestBody.content["application/json"].schema).toEqual(jsonSchemaOf({ struct: { id: "u32" } }));
    expect(Object.keys(op.requestBody.content)).toEqual(["application/json", "application/msgpack", "application/x-bincode"]);
    expect(op.responses["200"].content["application/json"].schema).toEqual({ type: "array", items: { type: "string" } });
    expect(op.responses["400"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Error" });
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["200", "400", "401", "404", "413", "415", "500", "502", "504", "default"]));
    // Each status names the codes that answer with it: a module's own NotFound is a 404 too.
    expect(op.responses["404"].description).toMatch(/InvalidWapm.*InvalidTopic.*NotFound/);
    expect(op["x-wasm-bus-callbacks"]).toEqual({ changed: jsonSchemaOf("u64") });
    expect(op.description).toMatch(/Callbacks \(changed\) reach WebSocket callers .*and HTTP callers that send Accept: application\/x-ndjson/);
    // A topic without types takes any value; a raw topic takes bytes only.
    expect(Object.keys(paths["/call/demo/loose"]!.post.requestBody.content)).toEqual(["application/json", "application/msgpack"]);
    expect(Object.keys(paths["/call/demo/blob"]!.post.requestBody.content)).toEqual(["application/octet-stream"]);
    // A module that failed to load is left out.
    expect(Object.keys(paths).filter((p) => p.includes("broken"))).toEqual([]);
  });

  it("makes bearer auth optional without a BUS_TOKEN and required with one", () => {
    const open = openApiDocument([{ name: "demo", manifest }]).paths as Record<string, Record<string, any>>;
    const closed = openApiDocument([{ name: "demo", manifest }], { auth: true }).paths as Record<string, Record<string, any>>;
    expect(open["/call/demo/loose"]!.post.security).toEqual([{}, { bearer: [] }]);
    expect(closed["/call/demo/loose"]!.post.security).toEqual([{ bearer: [] }]);
    expect(closed["/processes"]!.post.security).toEqual([{ bearer: [] }]);
    // The description itself is public, as GET / is.
    expect(closed["/openapi.json"]!.get.security).toBeUndefined();
  });
});

describe("GET /openapi.json", () => {
  it("describes every served module's topics, the process and bus routes, the error body and bearer auth", async () => {
    const res = await worker("/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    const doc = (await res.json()) as any;
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.servers).toEqual([{ url: "http://bus.test" }]);
    const { modules } = (await (await worker("/modules")).json()) as { modules: { name: string; topics: Record<string, unknown>; limits: Record<string, number>; error?: string }[] };
    for (const m of modules.filter((m) => !m.error)) {
      for (const topic of Object.keys(m.topics)) expect(doc.paths, `${m.name} ${topic}`).toHaveProperty([`/call/${m.name}/${topic}`, "post"]);
    }
    expect(doc.paths["/call/hello/greet"].post.requestBody.content["application/json"].schema).toEqual({ type: "object", properties: { name: { type: "string" } }, required: ["name"] });
    for (const path of ["/processes", "/processes/{id}", "/processes/{id}/logs", "/processes/{id}/call/{topic}", "/processes/{id}/attach", "/bus/{module}", "/bus/{module}/{session}", "/modules", "/"]) {
      expect(doc.paths, path).toHaveProperty([path]);
    }
    // A client that reads them knows every frame it may send, the acks its bound counts among them.
    expect(doc.paths["/processes/{id}/attach"].get.description).toContain('{"received": n}');
    for (const path of ["/bus/{module}", "/bus/{module}/{session}"]) {
      expect(doc.paths[path].get.description, path).toContain('{type: "ack", bytes}');
      expect(doc.paths[path].get.description, path).toContain('docs/host.md, "The bus over a WebSocket"');
    }
    expect(doc.components.schemas.Error.properties.codeName.enum).toEqual(Object.keys(Code));
    // Every served module's limits are what ModuleInfo says they can be: each key, an integer within its bounds.
    const limits = doc.components.schemas.ModuleInfo.properties.limits;
    for (const m of modules) {
      expect(Object.keys(m.limits).sort(), m.name).toEqual([...limits.required].sort());
      for (const [key, value] of Object.entries(m.limits)) {
        const { minimum, maximum } = limits.properties[key];
        expect(Number.isInteger(value) && value >= minimum && value <= maximum, `${m.name} ${key} ${value}`).toBe(true);
      }
    }
    expect(limits.properties.stdinBytes.maximum).toBe(16 * 1024 * 1024);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });

    // Every $ref resolves, every operationId is unique.
    const text = JSON.stringify(doc);
    for (const [, name] of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) expect(doc.components.schemas, name).toHaveProperty([name!]);
    const ids = Object.values(doc.paths).flatMap((item: any) => Object.values(item).map((op: any) => op?.operationId).filter(Boolean));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("is answered without a token: it says what exists, as GET / does", async () => {
    expect((await worker("/openapi.json", { method: "POST" })).status).toBe(405);
  });
});

describe("what the Worker answers, against its own description", () => {
  type Operation = { responses: Record<string, { content?: Record<string, unknown> }> };
  const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({ method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

  /** The operation the document gives for `method` and a concrete path, its {parameters} matched as segments. */
  function operationOf(doc: { paths: Record<string, Record<string, Operation>> }, method: string, path: string): Operation | undefined {
    const item = Object.entries(doc.paths).find(([template]) => new RegExp(`^${template.replace(/[.]/g, "\\.").replace(/\{[^}]+\}/g, "[^/]+")}$`).test(path))?.[1];
    return item?.[method.toLowerCase()];
  }

  it("answers every route, success and error, with a status and content type the document lists, and errors with the Error body", async () => {
    const doc = (await (await worker("/openapi.json")).json()) as { paths: Record<string, Record<string, Operation>> };
    const spawned = (await (await worker("/processes", json({ module: "echo-daemon" }))).json()) as { id: string };
    const ended = (await (await worker("/processes", json({ module: "countdown", args: ["1", "0"] }))).json()) as { id: string };
    await worker(`/processes/${ended.id}`, { method: "DELETE" });
    const cases: [method: string, path: string, init?: RequestInit][] = [
      ["GET", "/"],
      ["GET", "/modules"],
      ["GET", "/console"],
      ["POST", "/call/hello/greet", json({ name: "Ada" })],
      ["POST", "/call/hello/greet", json({ name: "Ada" }, { accept: "application/x-ndjson" })],
      ["POST", "/call/hello/greet", json({ name: 5 })],
      ["POST", "/call/hello/greet", { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" }],
      ["POST", "/call/hello/greet", json({ name: "x".repeat(2 << 20) })],
      ["POST", "/processes", json({ module: "hello" })],
      ["POST", "/processes", json({ module: "nope" })],
      ["GET", `/processes/${spawned.id}`],
      ["GET", `/processes/${spawned.id}/logs`],
      ["POST", `/processes/${spawned.id}/call/echo`, json({ n: 1 })],
      ["POST", `/processes/${spawned.id}/call/echo`, json({ n: 1 }, { accept: "application/x-ndjson" })],
      ["POST", `/processes/${spawned.id}/call/nope`, json({})],
      ["POST", `/processes/${ended.id}/call/echo`, json({})],
      ["DELETE", `/processes/${spawned.id}`],
      ["GET", "/processes/nope"],
      ["GET", "/processes/nope/attach"],
      ["GET", "/bus/chat/room"],
      ["GET", "/bus/chat/no%20spaces"],
      ["GET", "/bus/nope"],
    ];
    for (const [method, path, init] of cases) {
      const res = await worker(path, { method, ...init });
      const what = `${method} ${path} ${JSON.stringify(init?.headers ?? {})}: ${res.status}`;
      const responses = operationOf(doc, method, path)?.responses;
      expect(responses, what).toBeDefined();
      const described = responses![String(res.status)] ?? responses!.default;
      const type = (res.headers.get("content-type") ?? "").split(";")[0]!;
      expect(Object.keys(described?.content ?? {}), what).toContain(type);
      if (res.status >= 400) expect(await res.json(), what).toMatchObject({ error: expect.any(String), code: expect.any(Number), codeName: expect.any(String) });
      else await res.arrayBuffer();
    }
  });
});
