import { fuel } from "../build/fuel.js";
import { modules } from "../build/registry.js";
import { createApp } from "./http/app.js";
import { Runtime } from "./runtime.js";

/** The Worker: one runtime per isolate, built from the generated registry of bundled modules. */
const runtime = new Runtime(modules, { fuel });
const app = createApp(runtime);

export default app;

export { BusProcess } from "../durable-objects/bus-process.js";
export { BusSession } from "../durable-objects/bus-session.js";
