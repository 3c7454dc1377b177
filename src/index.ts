import { createApp } from "./http/app.js";
import { createRuntime } from "./worker-runtime.js";

/** The Worker: one runtime per isolate, over the bundled modules. */
export default createApp(createRuntime());

export { BusProcess } from "../durable-objects/bus-process.js";
export { BusSession } from "../durable-objects/bus-session.js";
export { BusStore } from "../durable-objects/bus-store.js";
