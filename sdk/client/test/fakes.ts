import { Packr } from "msgpackr";
import { Client, modules, type SocketFactory, type SocketLike } from "../src/index.js";

const packr = new Packr({ useRecords: false, mapsAsObjects: true });
export const pack = (v: unknown) => new Uint8Array(packr.pack(v));
export const unpack = (b: Uint8Array) => packr.unpack(b) as Record<string, unknown>;
export const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/** A WebSocket under the test's control: it records what the client sends and plays the server. */
export class FakeSocket implements SocketLike {
  binaryType = "blob";
  readyState = 0;
  sent: (string | Uint8Array)[] = [];
  #listeners = new Map<string, ((event: any) => void)[]>();

  constructor(readonly url: string, readonly headers: Record<string, string>) {}

  addEventListener(type: string, listener: (event: any) => void) {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }

  #emit(type: string, event: unknown = {}) {
    for (const l of this.#listeners.get(type) ?? []) l(event);
  }

  send(data: string | Uint8Array | ArrayBuffer) {
    this.sent.push(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
  }

  close() {
    if (this.readyState >= 2) return;
    this.readyState = 3;
    this.#emit("close", { code: 1000 });
  }

  // The server's side.
  open() {
    this.readyState = 1;
    this.#emit("open");
  }
  receive(frame: object | string) {
    const data = typeof frame === "string" ? frame : pack(frame);
    this.#emit("message", { data: typeof data === "string" ? data : data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) });
  }
  /** A frame as a browser's socket hands it over where binaryType stays "blob": its bytes come asynchronously. */
  receiveBlob(frame: object) {
    this.#emit("message", { data: new Blob([pack(frame)]) });
  }
  /** Bytes as a binary message, as they are (garbage, a truncated frame). */
  receiveBytes(data: Uint8Array) {
    this.#emit("message", { data: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) });
  }
  /** A refused handshake as Node's WebSocket (undici) reports it: an error, no close, still CONNECTING. */
  refuse() {
    this.#emit("error");
  }
  /** The server closes the socket with a code and reason (1009: a frame it could not read). */
  closeBy(code: number, reason: string) {
    this.readyState = 3;
    this.#emit("close", { code, reason });
  }
  drop() {
    this.readyState = 3;
    this.#emit("error");
    this.#emit("close", { code: 1006 });
  }
  /** The binary frames sent, decoded. */
  frames(): Record<string, unknown>[] {
    return this.sent.filter((d): d is Uint8Array => d instanceof Uint8Array).map(unpack);
  }
}

export function fakeSockets() {
  const sockets: FakeSocket[] = [];
  const factory: SocketFactory = (url, headers) => {
    const socket = new FakeSocket(url, headers);
    sockets.push(socket);
    return socket;
  };
  return { sockets, factory };
}

/** A fetch that answers from a function and records the requests. */
export function fakeFetch(answer: (req: Request) => Response | Promise<Response>) {
  const requests: Request[] = [];
  const fetch = async (req: Request) => {
    requests.push(req.clone());
    return answer(req);
  };
  return { requests, fetch };
}

export const tick = () => new Promise((r) => setTimeout(r, 0));

/** A client's session to chat "room", open, with a kept-alive join answered: where the callbacks tests start. */
export async function joinedChat() {
  const { sockets, factory } = fakeSockets();
  const { fetch } = fakeFetch(() => new Response(null, { status: 426 }));
  const client = new Client({ url: "http://bus.test", webSocket: factory, fetch, modules });
  const chat = client.session("chat", "room");
  const socket = sockets[0]!;
  socket.open();
  const join = chat.call("join", { name: "ada" }, { keepalive: true });
  socket.receive({ type: "reply", id: join.id, format: "json", payload: json({ joined: "ada", members: 1 }) });
  await join.reply;
  return { client, chat, socket, join };
}
