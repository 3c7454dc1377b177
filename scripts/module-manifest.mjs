// Reads a module's module.json and checks it as the Worker will: with src/manifest.ts's own
// parseManifest, bundled here by esbuild. The Worker parses every manifest of its registry when
// it starts, and one it refuses stops the whole Worker (every module down, the reason deep in
// workerd's output); the build refuses it first, naming the module and the field.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildSync } from "esbuild";

let parse;

async function parser(root) {
  if (!parse) {
    const { outputFiles } = buildSync({
      entryPoints: [join(root, "src/manifest.ts")], bundle: true, format: "esm", platform: "neutral", write: false, logLevel: "silent",
    });
    const code = outputFiles[0].text;
    ({ parseManifest: parse } = await import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`));
  }
  return parse;
}

/** The manifest of the module in `dir`, as JSON; throws a message naming the file and what is wrong. */
export async function readManifest(root, name, dir, label) {
  const file = join(dir, "module.json");
  let raw;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${label}/module.json: ${err.message}`);
  }
  try {
    (await parser(root))(name, raw);
  } catch (err) {
    throw new Error(`${label}/module.json: ${err.message}`);
  }
  return raw;
}
