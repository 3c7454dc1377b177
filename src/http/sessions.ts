import { Hono } from "hono";
import type { Env } from "../env.js";
import { BusError, nameInMessage } from "../errors.js";
import type { Runtime } from "../runtime.js";
import { DEFAULT_SESSION, SESSION_NAME, sessionKey } from "../session-names.js";
import { HttpError } from "./errors.js";

export { DEFAULT_SESSION, sessionKey };

/**
 * GET /bus/:module/:session: the bus over a WebSocket, one BusSession object (and one instance)
 * per module and session name, so each room is its own object and rooms spread across machines.
 */
export function sessionRoutes(runtime: Runtime) {
  const app = new Hono<{ Bindings: Env }>();
  const open = (c: { env: Env; req: { raw: Request; header(name: string): string | undefined } }, module: string, session: string) => {
    if (!runtime.modules.has(module)) throw BusError.of("InvalidWapm", `no module named ${nameInMessage(module)}`);
    if (!SESSION_NAME.test(session)) {
      throw BusError.of("BadRequest", `session names are 1 to 64 letters, digits, '_', '.' or '-': ${JSON.stringify(session.slice(0, 80))}`);
    }
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      // The route asked, as asked: `/bus/chat/room-a` wants the upgrade as much as `/bus/chat` does.
      throw new HttpError("BadRequest", `GET ${new URL(c.req.raw.url).pathname} is the bus over a WebSocket: it wants an Upgrade: websocket request`, 426);
    }
    const stub = c.env.SESSIONS.get(c.env.SESSIONS.idFromName(sessionKey(module, session)));
    return stub.fetch(c.req.raw);
  };
  app.get("/:module", (c) => open(c, c.req.param("module"), DEFAULT_SESSION));
  app.get("/:module/:session", (c) => open(c, c.req.param("module"), c.req.param("session")));
  return app;
}
