/// <reference types="node" />
// The Worker in Node tests: wrangler's unstable_startWorker on 127.0.0.1 with a free port, state
// in memory (or, with `persist`, in that directory, kept across starts), as `npm start` serves it
// (behind wrangler dev's proxy); `entrypoint` serves another Worker (test/node/process-worker.ts:
// the test guests too).

export type StartedWorker = Awaited<ReturnType<typeof import("wrangler").unstable_startWorker>>;

export async function startWorker(
  options: { token?: string; allowedOrigins?: string; persist?: string; entrypoint?: string; logLevel?: "debug" | "info" | "log" | "warn" | "error" | "none" } = {},
): Promise<{
  worker: StartedWorker;
  url: URL;
}> {
  process.env.WRANGLER_SEND_METRICS ??= "false";
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  const { unstable_startWorker } = await import("wrangler");
  const worker = await unstable_startWorker({
    config: "wrangler.toml",
    ...(options.entrypoint ? { entrypoint: options.entrypoint } : {}),
    bindings: {
      ...(options.token ? { BUS_TOKEN: { type: "plain_text", value: options.token } } : {}),
      ...(options.allowedOrigins ? { ALLOWED_ORIGINS: { type: "plain_text", value: options.allowedOrigins } } : {}),
    },
    dev: {
      server: { hostname: "127.0.0.1", port: 0 },
      inspector: false,
      persist: options.persist ?? false,
      watch: false,
      ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    },
  });
  await withTimeout(worker.ready, 60_000, "the Worker to start");
  return { worker, url: await worker.url };
}

/** A promise that fails with what it waited for instead of hanging the test. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}
