import { defineConfig } from "vitest/config";

// The client's own unit tests: fakes for fetch and WebSocket, no Worker. The root project's
// test/node/client*.test.ts drive it against the real Worker.
export default defineConfig({
  // The repository's node_modules, not a stray one inside the package.
  cacheDir: "../../node_modules/.vite/sdk-client",
  test: { name: "client", root: import.meta.dirname, environment: "node", include: ["test/**/*.test.ts"] },
});
