// The bench Worker: the real app (as src/index.ts builds it) plus one plain
// route that answers the same request with the same JSON, without the bus or
// Wasm. Both are served by the same workerd, so their ratio is the cost of the
// bus and the module alone.
import { fuel } from "../../build/fuel.js";
import { modules } from "../../build/registry.js";
import { createApp } from "../../src/http/app.js";
import { Runtime } from "../../src/runtime.js";

const runtime = new Runtime(modules, { fuel });
const app = createApp(runtime);

// What modules/hello does for greet: {"name": "Ada"} -> {"message": "Hello, Ada!"}, 400 without a string name.
app.post("/plain/greet", async (c) => {
  let name: unknown;
  try {
    name = ((await c.req.json()) as { name?: unknown } | null)?.name;
  } catch {
    name = undefined;
  }
  if (typeof name !== "string") return c.json({ error: "name must be a string", code: 12, codeName: "BadRequest" }, 400);
  return c.json({ message: `Hello, ${name}!` });
});

export default app;
