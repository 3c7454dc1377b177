#!/usr/bin/env node
// Serves the Worker on a free 127.0.0.1 port for a CI step (scripts/ci/fuzz.sh): wrangler's
// unstable_startWorker, state in memory, and no file watching, so an edit elsewhere in the tree
// cannot reload the Worker under a running fuzz. Prints "serving <url>" on one line, then serves until
// SIGTERM or SIGINT.
//
//   node scripts/ci/serve.mjs [--var NAME=VALUE]...
process.env.WRANGLER_SEND_METRICS ??= "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
const { unstable_startWorker } = await import("wrangler");

const bindings = {};
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] !== "--var") continue;
  const [name, ...value] = args[++i].split("=");
  bindings[name] = { type: "plain_text", value: value.join("=") };
}

const worker = await unstable_startWorker({
  config: "wrangler.toml",
  bindings,
  dev: { server: { hostname: "127.0.0.1", port: 0 }, inspector: false, persist: false, watch: false },
});
await worker.ready;
console.log(`serving ${String(await worker.url)}`);

const stop = async () => {
  await worker.dispose();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
