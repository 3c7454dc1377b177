/// <reference types="node" />
import { createServer } from "node:net";

/** A port free on 127.0.0.1 now, for a server the test starts itself (wrangler dev). */
export function freePort(): Promise<number> {
  return new Promise((done, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}
