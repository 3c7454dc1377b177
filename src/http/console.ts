import { Hono } from "hono";
import { css, html, js, version } from "../../build/console.js";

/**
 * GET /console: the console page (sdk/console, bundled by scripts/build-console.mjs into
 * build/console.ts). Its script and stylesheet are addressed by a hash of their content, so
 * they are cached for good and the page itself is always asked again.
 */
export function consoleRoutes() {
  const app = new Hono();
  const page = (c: { body: (b: string, s: 200, h: Record<string, string>) => Response }) =>
    c.body(html, 200, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-cache",
      // Everything comes from this Worker; the page talks only to it (HTTP and WebSockets).
      // xterm.js sets inline styles, hence 'unsafe-inline' for styles only.
      "content-security-policy": "default-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
      "x-content-type-options": "nosniff",
    });
  const asset = (body: string, type: string) => (c: { req: { query: (k: string) => string | undefined }; body: (b: string, s: 200, h: Record<string, string>) => Response }) =>
    c.body(body, 200, { "content-type": type, "cache-control": c.req.query("v") === version ? "public, max-age=31536000, immutable" : "no-cache", "x-content-type-options": "nosniff" });
  app.get("/", page);
  app.get("/app.js", asset(js, "text/javascript; charset=utf-8"));
  app.get("/app.css", asset(css, "text/css; charset=utf-8"));
  return app;
}
