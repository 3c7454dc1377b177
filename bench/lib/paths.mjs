import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const out = join(root, "bench/.out");
export const bin = (name) => join(root, "node_modules/.bin", name);
export const guest = (name) => join(out, "guests", `${name}.wasm`);
