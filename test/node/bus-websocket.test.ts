/// <reference types="node" />
// Runs in Node (the "node" vitest project), not in workerd: the Worker is started with wrangler's
// unstable_startWorker on 127.0.0.1, and real clients reach it over real sockets: `ws` WebSocket
// clients on GET /bus/chat, and fetch for POST /call/:module/:topic.
import { Packr } from "msgpackr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";

// Frames are msgpack maps, records off (as durable-objects/frames.ts encodes them).
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

type Frame = {
  type: "reply" | "fault" | "callback" | "error";
  id?: number;
  topic?: string;
  format?: string;
  payload?: Uint8Array;
  code?: number;
  codeName?: string;
  detail?: string;
  error?: string;
};

/** How long any one wait may take before the test fails instead of hanging. */
const WAIT_MS = 10_000;

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const parse = (f: Frame) => JSON.parse(new TextDecoder().decode(f.payload ?? new Uint8Array())) as unknown;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

interface Waiter {
  match: (f: Frame) => boolean;
  resolve: (f: Frame) => void;
}

/** A bus WebSocket client: sends call/drop frames, buffers server frames and waits for them. */
class BusClient {
  readonly frames: Frame[] = [];
  #waiters: Waiter[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      const frame = (isBinary ? packr.unpack(data) : { type: "error", error: `text frame: ${data.toString()}` }) as Frame;
      const i = this.#waiters.findIndex((w) => w.match(frame));
      if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(frame);
      else this.frames.push(frame);
    });
  }

  static async connect(url: string): Promise<BusClient> {
    const ws = new WebSocket(url);
    const client = new BusClient(ws);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
        ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      }),
      WAIT_MS,
      `WebSocket open ${url}`,
    );
    return client;
  }

  call(id: number, topic: string, request: unknown, options: { keepalive?: boolean; parent?: number } = {}) {
    this.send({ type: "call", id, topic, format: "json", payload: json(request), ...options });
  }

  drop(id: number) {
    this.send({ type: "drop", id });
  }

  send(frame: object) {
    this.ws.send(packr.pack(frame));
  }

  /** The first frame (buffered or yet to come) that matches; it is taken off the buffer. */
  next(match: (f: Frame) => boolean, what: string, ms = WAIT_MS): Promise<Frame> {
    const i = this.frames.findIndex(match);
    if (i >= 0) return Promise.resolve(this.frames.splice(i, 1)[0]!);
    let waiter!: Waiter;
    const got = new Promise<Frame>((resolve) => {
      waiter = { match, resolve };
      this.#waiters.push(waiter);
    });
    return withTimeout(got, ms, what).catch((err) => {
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
      throw err;
    });
  }

  /** The answer (reply or fault) to call `id`. */
  answer(id: number): Promise<Frame> {
    return this.next((f) => f.id === id && (f.type === "reply" || f.type === "fault"), `the answer to call ${id}`);
  }

  callback(id: number, topic: string): Promise<Frame> {
    return this.next((f) => f.id === id && f.type === "callback" && f.topic === topic, `callback ${topic} on call ${id}`);
  }

  /**
   * Sends a Close frame (the server drops this socket's calls on it) and waits for the server's
   * Close in return: with the hibernation API the server must reciprocate in webSocketClose.
   */
  async close() {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<number>((resolve) => this.ws.once("close", (code) => resolve(code)));
    this.ws.close(1000, "done");
    expect(await withTimeout(closed, 2000, "the server's closing handshake")).toBe(1000);
  }
}

type StartedWorker = Awaited<ReturnType<typeof import("wrangler").unstable_startWorker>>;

let worker: StartedWorker | undefined;
let origin = "";
let busUrl = "";
const clients: BusClient[] = [];

async function connect(): Promise<BusClient> {
  const client = await BusClient.connect(busUrl);
  clients.push(client);
  return client;
}

beforeAll(async () => {
  process.env.WRANGLER_SEND_METRICS ??= "false";
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  const { unstable_startWorker } = await import("wrangler");
  worker = await unstable_startWorker({
    config: "wrangler.toml",
    // In memory: no state carried over from an earlier run.
    dev: { server: { hostname: "127.0.0.1", port: 0 }, inspector: false, persist: false, watch: false },
  });
  await withTimeout(worker.ready, 60_000, "the Worker to start");
  const url = await worker.url;
  origin = url.origin;
  busUrl = `ws://${url.host}/bus/chat`;
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await worker?.dispose();
});

describe("the bus over a real WebSocket (GET /bus/chat)", () => {
  it("delivers every post to every joined member, and a dropped join leaves the room", async () => {
    const ada = await connect();
    const bob = await connect();

    ada.call(1, "join", { name: "ada" }, { keepalive: true });
    const adaJoined = await ada.answer(1);
    expect(adaJoined).toMatchObject({ type: "reply", id: 1, format: "json" });
    expect(parse(adaJoined)).toEqual({ joined: "ada", members: 1 });

    bob.call(7, "join", { name: "bob" }, { keepalive: true });
    const bobJoined = await bob.answer(7);
    expect(bobJoined).toMatchObject({ type: "reply", id: 7 });
    expect(parse(bobJoined)).toEqual({ joined: "bob", members: 2 });

    // ada posts under her join: both members get it, ada included, on their join call ids.
    ada.call(2, "post", { text: "hello, room" }, { parent: 1 });
    const [posted, toAda, toBob] = await Promise.all([ada.answer(2), ada.callback(1, "message"), bob.callback(7, "message")]);
    expect(posted).toMatchObject({ type: "reply", id: 2 });
    expect(parse(posted)).toEqual({ delivered: 2 });
    expect(toAda).toMatchObject({ type: "callback", id: 1, topic: "message", format: "json" });
    expect(parse(toAda)).toEqual({ from: "ada", text: "hello, room" });
    expect(parse(toBob)).toEqual({ from: "ada", text: "hello, room" });

    // bob posts too: the message names him.
    bob.call(8, "post", { text: "hi ada" }, { parent: 7 });
    expect(parse(await bob.answer(8))).toEqual({ delivered: 2 });
    expect(parse(await ada.callback(1, "message"))).toEqual({ from: "bob", text: "hi ada" });
    expect(parse(await bob.callback(7, "message"))).toEqual({ from: "bob", text: "hi ada" });

    // bob leaves by dropping his join. A later call under it is refused: that also tells us the drop was handled.
    bob.drop(7);
    bob.call(9, "post", { text: "still here?" }, { parent: 7 });
    expect(await bob.answer(9)).toMatchObject({ type: "fault", id: 9, code: 8, codeName: "InvalidHandle" });

    ada.call(3, "post", { text: "anyone?" }, { parent: 1 });
    expect(parse(await ada.answer(3))).toEqual({ delivered: 1 });
    expect(parse(await ada.callback(1, "message"))).toEqual({ from: "ada", text: "anyone?" });
    // Nothing more reaches bob (give a stray frame time to arrive before looking).
    await new Promise((r) => setTimeout(r, 300));
    expect(bob.frames.filter((f) => f.type === "callback")).toEqual([]);
    expect(ada.frames).toEqual([]);

    // A post without a joined parent is BadRequest (12), with the module's own words.
    ada.call(4, "post", { text: "no parent" });
    expect(await ada.answer(4)).toMatchObject({ type: "fault", id: 4, code: 12, codeName: "BadRequest", detail: "post needs a live join of this room as its parent" });

    // Closing the socket leaves the room too: a new member finds only itself.
    await ada.close();
    const cy = await connect();
    cy.call(1, "join", { name: "cy" }, { keepalive: true });
    expect(parse(await cy.answer(1))).toEqual({ joined: "cy", members: 1 });
    cy.call(2, "post", { text: "alone" }, { parent: 1 });
    expect(parse(await cy.answer(2))).toEqual({ delivered: 1 });
    expect(parse(await cy.callback(1, "message"))).toEqual({ from: "cy", text: "alone" });
    cy.drop(1);
    await cy.close();
    await bob.close();
  });

  it("answers a malformed frame with an error frame and keeps the connection", async () => {
    const client = await connect();
    client.ws.send(Buffer.from([0xc1])); // 0xc1 is never used in msgpack
    expect(await client.next((f) => f.type === "error", "an error frame")).toMatchObject({ type: "error", error: expect.stringMatching(/bad frame/) });
    client.send({ type: "call", topic: "join" }); // no id
    expect(await client.next((f) => f.type === "error", "an error frame")).toMatchObject({ type: "error", error: expect.stringMatching(/id/) });
    client.ws.send("a text frame");
    expect(await client.next((f) => f.type === "error", "an error frame")).toMatchObject({ type: "error", error: expect.stringMatching(/binary/) });

    // Still works: a join gets its reply.
    client.call(5, "join", { name: "dee" }, { keepalive: true });
    const joined = await client.answer(5);
    expect(joined).toMatchObject({ type: "reply", id: 5 });
    expect(parse(joined)).toMatchObject({ joined: "dee" });
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    await client.close();
  });

  it("faults a call to an unknown topic with InvalidTopic (9)", async () => {
    const client = await connect();
    client.call(1, "no-such-topic", {});
    expect(await client.answer(1)).toMatchObject({ type: "fault", id: 1, code: 9, codeName: "InvalidTopic" });
    // and a bad join request (no name) is the module's BadRequest (12)
    client.call(2, "join", { nom: "x" }, { keepalive: true });
    expect(await client.answer(2)).toMatchObject({ type: "fault", id: 2, code: 12 });
    await client.close();
  });

  it("takes msgpack requests on a json topic and answers in msgpack", async () => {
    const client = await connect();
    client.send({ type: "call", id: 1, topic: "join", format: "msgpack", payload: packr.pack({ name: "eve" }), keepalive: true });
    const joined = await client.answer(1);
    expect(joined).toMatchObject({ type: "reply", id: 1, format: "msgpack" });
    expect(packr.unpack(joined.payload!)).toMatchObject({ joined: "eve" });
    client.send({ type: "call", id: 2, topic: "post", format: "msgpack", payload: packr.pack({ text: "packed" }), parent: 1 });
    expect(packr.unpack((await client.answer(2)).payload!)).toEqual({ delivered: 1 });
    // Callbacks come back in the caller's format too.
    const message = await client.callback(1, "message");
    expect(message.format).toBe("msgpack");
    expect(packr.unpack(message.payload!)).toEqual({ from: "eve", text: "packed" });
    await client.close();
  });
});

describe("POST /call over a real HTTP socket", () => {
  it("calls hello greet", async () => {
    const res = await withTimeout(
      fetch(`${origin}/call/hello/greet`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "Ada" }) }),
      WAIT_MS,
      "POST /call/hello/greet",
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    expect(await res.json()).toEqual({ message: "Hello, Ada!" });
  });

  it("relays to hello-rs (AssemblyScript -> Rust), or says it is missing", async () => {
    const call = (module: string, topic: string, body: unknown) =>
      withTimeout(
        fetch(`${origin}/call/${module}/${topic}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
        WAIT_MS,
        `POST /call/${module}/${topic}`,
      );
    const { modules } = (await (await fetch(`${origin}/modules`)).json()) as { modules: { name: string }[] };
    const relayed = await call("relay", "relay", { name: "Ada" });
    if (!modules.some((m) => m.name === "hello-rs")) {
      // Not built (no Rust toolchain): the relay faults with the code its call got, InvalidWapm.
      expect(relayed.status).toBe(404);
      expect(await relayed.json()).toMatchObject({ code: 3, codeName: "InvalidWapm", module: "relay" });
      return;
    }
    const direct = await call("hello-rs", "greet", { name: "Ada" });
    expect(relayed.status).toBe(200);
    expect(await relayed.json()).toEqual({ relayed: await direct.json() });
    // hello-rs's fault comes back through the relay with the same code.
    const [badRelay, badDirect] = await Promise.all([call("relay", "relay", {}), call("hello-rs", "greet", {})]);
    const want = (await badDirect.json()) as { code: number };
    expect(badDirect.status).toBeGreaterThanOrEqual(400);
    expect(badRelay.status).toBe(badDirect.status);
    expect(await badRelay.json()).toMatchObject({ code: want.code });
  });
});
