// The runtime core, bundled for Node by bench/lib/build.mjs the way wrangler
// bundles it for workerd (conditions workerd/worker/browser: msgpackr without
// its native Node addon), so the bench runs the same code the Worker runs.
export { Runtime, type ModuleEntry } from "../src/runtime.js";
export { Guest } from "../src/instance/guest.js";
export { BusCall } from "../src/call.js";
export { createApp } from "../src/http/app.js";
export { decode, encode, stringifyJson } from "../src/codec/index.js";
export { useJsonKernel } from "../src/codec/json-kernel.js";
export { builtinServices } from "../src/services/index.js";
export { Code, Format } from "../src/abi.js";
export { Packr } from "msgpackr";
// The objects' snapshots, which section 8 runs on node:sqlite (bench/lib/sqlite-storage.mjs).
export { Snapshots } from "../durable-objects/snapshots.js";
