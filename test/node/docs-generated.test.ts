import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module script without types
import { DOC, rendered } from "../../scripts/gen-docs.mjs";

describe("docs/host.md's table of built-in services is generated from src/services", () => {
  it("matches the services' own specs (else: npm run gen:docs)", async () => {
    const next: string = await rendered();
    expect(next).toContain("| `time.sleep` | `{duration_ms: u128}` |");
    expect(next).toBe(readFileSync(DOC, "utf8"));
  });
});
