import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" } })],
  test: {
    globalSetup: ["./test/setup/servers.ts"],
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
  },
});
