// Runs in Node, outside workerd: real servers on 127.0.0.1 for modules to reach.
import { createServer, type Server } from "node:http";
import type { TestProject } from "vitest/node";
import { WebSocketServer } from "ws";
import { hostile } from "./hostile-http.js";

declare module "vitest" {
  export interface ProvidedContext {
    httpOrigin: string;
    wsOrigin: string;
  }
}

let server: Server;
let wss: WebSocketServer;

export async function setup(project: TestProject) {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname.startsWith("/hostile/")) return void hostile(req, res, url);
    if (url.pathname === "/bytes") {
      const n = Number(url.searchParams.get("n") ?? 0);
      res.writeHead(200, { "content-type": "application/octet-stream", "x-test": "yes" });
      res.end(Buffer.alloc(n, 97));
      return;
    }
    if (url.pathname === "/status") {
      res.writeHead(Number(url.searchParams.get("code") ?? 200));
      res.end();
      return;
    }
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ method: req.method, path: url.pathname, body }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("test HTTP server has no port");
  project.provide("httpOrigin", `http://127.0.0.1:${address.port}`);

  // WebSocket peer: /echo echoes every frame as it came (text or binary),
  // /text greets with a text frame, /close closes at once with code 4000.
  wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  wss.on("connection", (socket, req) => {
    if (req.url === "/close") return socket.close(4000, "bye");
    if (req.url === "/text") socket.send("hey");
    socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => wss.on("listening", () => resolve()));
  const wsAddress = wss.address();
  if (!wsAddress || typeof wsAddress === "string") throw new Error("test WebSocket server has no port");
  project.provide("wsOrigin", `ws://127.0.0.1:${wsAddress.port}`);
}

export async function teardown() {
  await new Promise((resolve) => wss?.close(resolve));
  await new Promise((resolve) => server?.close(resolve));
}
