import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        // The suite inside workerd (@cloudflare/vitest-plugin).
        plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" } })],
        test: {
          name: "workers",
          globalSetup: ["./test/setup/servers.ts"],
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "test/node/**", "test/unit/**"],
          testTimeout: 20_000,
        },
      },
      {
        // Pure logic (codecs, schemas, handle tables, memory, frames) in plain Node: seconds, no workerd.
        test: {
          name: "unit",
          environment: "node",
          include: ["test/unit/**/*.test.ts", "sdk/client/test/**/*.test.ts"],
        },
      },
      {
        // Tests that need real clients in Node: they start the Worker with wrangler and talk to it over sockets.
        test: {
          name: "node",
          environment: "node",
          include: ["test/node/**/*.test.ts"],
          testTimeout: 30_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
