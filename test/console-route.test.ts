import { describe, expect, it } from "vitest";
import { worker } from "./worker.js";

// The page itself is driven in chromium by test/node/console*.test.ts; here, what the Worker serves.
describe("GET /console", () => {
  it("serves the page, its bundled script and stylesheet from the Worker, nothing from elsewhere", async () => {
    const page = await worker("/console");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(page.headers.get("content-security-policy")).toMatch(/default-src 'self'/);
    const html = await page.text();
    const script = /src="(\/console\/app\.js\?v=[0-9a-f]+)"/.exec(html)?.[1];
    const style = /href="(\/console\/app\.css\?v=[0-9a-f]+)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect(style).toBeDefined();
    expect(html).not.toMatch(/https?:\/\//);
    const js = await worker(script!);
    expect(js.headers.get("content-type")).toMatch(/javascript/);
    expect(js.headers.get("cache-control")).toMatch(/immutable/);
    expect((await js.text()).length).toBeGreaterThan(10_000);
    const css = await worker(style!);
    expect(css.headers.get("content-type")).toMatch(/text\/css/);
    expect(await css.text()).toMatch(/\.xterm/);
    expect((await worker("/console/nothing.js")).status).toBe(404);
  });
});
