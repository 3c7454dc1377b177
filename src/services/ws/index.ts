import { BusError, nameInMessage } from "../../errors.js";
import { hostAllowed } from "../../manifest.js";
import type { Schema } from "../../codec/schema.js";
import { builtin, emit } from "../service.js";

/** The states the `state_change` callback reports, as wasm-bus-ws's `SocketState`. */
const socketState: Schema = { enum: { Opening: null, Opened: null, Closed: null, Failed: null } };
const sendResult: Schema = { enum: { Success: null, Failed: null } };

/**
 * Outbound WebSockets, with the original crate's API: `socket_builder.connect`
 * answers with a sub-API (keep the call alive) whose `web_socket.send` calls
 * name it as parent. Frames arrive through the `receive` callback (text frames
 * as their UTF-8 bytes); dropping the connect call closes the socket. In a
 * process the socket lives as long as its Durable Object holds the instance.
 */
export const ws = builtin({
  "socket_builder.connect": {
    description: "Opens a WebSocket to url (ws, wss, http or https); state_change and receive are callbacks. Keep the call alive: it is the socket.",
    request: { struct: { url: "string" } },
    response: "unit",
    callbacks: { state_change: socketState, receive: "bytes" },
    async run(req: { url: string }, call, ctx) {
      let url: URL;
      try {
        url = new URL(String(req.url));
      } catch {
        throw BusError.of("BadRequest", `socket_builder.connect: not a URL: ${nameInMessage(String(req.url))}`);
      }
      if (!["ws:", "wss:", "http:", "https:"].includes(url.protocol)) {
        throw BusError.of("BadRequest", `socket_builder.connect: ws(s) or http(s) URLs only, not ${url.protocol}`);
      }
      if (!hostAllowed(ctx.caller?.fetch.allow ?? [], url)) {
        throw BusError.of("AccessDenied", `socket_builder.connect: module ${ctx.caller?.name ?? call.caller} may not reach ${nameInMessage(url.host)}`);
      }
      emit(call, "state_change", "Opening", socketState);
      url.protocol = url.protocol === "wss:" || url.protocol === "https:" ? "https:" : "http:";
      let socket: WebSocket;
      try {
        const res = await fetch(url, { headers: { upgrade: "websocket" }, signal: call.signal });
        if (!res.webSocket) throw new Error(`the server answered ${res.status} instead of upgrading`);
        socket = res.webSocket;
      } catch (err) {
        emit(call, "state_change", "Failed", socketState);
        throw BusError.of("FetchFailed", `socket_builder.connect ${nameInMessage(req.url)}: ${(err as Error).message}`);
      }
      socket.accept();
      // A drop after fetch settled and before this ran fired its abort event already: close now.
      const close = () => socket.close(1000, "dropped");
      if (call.signal.aborted) {
        close();
        return null;
      }
      call.signal.addEventListener("abort", close);
      socket.binaryType = "arraybuffer";
      call.server = socket;
      const utf8 = new TextEncoder();
      socket.addEventListener("message", (e) => {
        emit(call, "receive", typeof e.data === "string" ? utf8.encode(e.data) : new Uint8Array(e.data as ArrayBuffer), "bytes");
      });
      socket.addEventListener("close", (e) => {
        ctx.log({ module: call.caller, level: "info", msg: `WebSocket ${nameInMessage(req.url)} closed: ${e.code} ${e.reason}`, call: call.id });
        emit(call, "state_change", "Closed", socketState);
      });
      socket.addEventListener("error", () => {
        emit(call, "state_change", "Failed", socketState); // a listener that returns a value makes workerd warn
      });
      emit(call, "state_change", "Opened", socketState);
      return null;
    },
  },
  "web_socket.send": {
    description: "Sends one binary frame on the socket its parent call opened.",
    request: { struct: { data: "bytes" } },
    response: sendResult,
    run(req: { data: Uint8Array }, call) {
      const socket = call.parent?.server;
      if (!(socket instanceof WebSocket)) throw BusError.of("InvalidHandle", "web_socket.send: the parent call is not an open socket_builder.connect");
      try {
        socket.send(req.data);
        return "Success";
      } catch {
        return "Failed";
      }
    },
  },
});
