// The bench Worker: the real app (as src/index.ts builds it) plus one plain
// route that answers the same request with the same JSON, without the bus or
// Wasm. Both are served by the same workerd, so their ratio is the cost of the
// bus and the module alone.
import { BusError } from "../../src/errors.js";
import { createApp } from "../../src/http/app.js";
import { errorBody } from "../../src/http/errors.js";
import { createRuntime } from "../../src/worker-runtime.js";

const app = createApp(createRuntime());

// What modules/hello does for greet: {"name": "Ada"} -> {"message": "Hello, Ada!"}, 400 without a string name.
app.post("/plain/greet", async (c) => {
  let name: unknown;
  try {
    name = ((await c.req.json()) as { name?: unknown } | null)?.name;
  } catch {
    name = undefined;
  }
  if (typeof name !== "string") return c.json(errorBody(BusError.of("BadRequest", "name must be a string")), 400);
  return c.json({ message: `Hello, ${name}!` });
});

export default app;
