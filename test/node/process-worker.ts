// The Worker as `npm start` serves it, with the test guests (test/guests/) runnable as processes
// too: for Node tests that run test programs (test/guests/wasi-probe) through POST /processes
// and /attach over real sockets. unstable_startWorker's `entrypoint` points here.
import { modules } from "../../build/registry.js";
import { modules as testGuests } from "../../build/test-registry.js";
import { setProcessModules } from "../../durable-objects/bus-process.js";
import { createApp } from "../../src/http/app.js";
import { createRuntime } from "../../src/worker-runtime.js";

const all = { ...modules, ...testGuests };
setProcessModules(all);

export default createApp(createRuntime({}, all));

export { BusProcess } from "../../durable-objects/bus-process.js";
export { BusSession } from "../../durable-objects/bus-session.js";
export { BusStore } from "../../durable-objects/bus-store.js";
