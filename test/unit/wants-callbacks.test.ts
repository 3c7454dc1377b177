import { describe, expect, it } from "vitest";
import { wantsCallbacks } from "../../src/http/callbacks.js";

const asking = (accept?: string) => wantsCallbacks(new Request("http://bus.test/call/m/t", { headers: accept === undefined ? {} : { accept } }));

describe("wantsCallbacks: the caller asks for the call's callbacks (Accept: application/x-ndjson)", () => {
  it("takes the media range alone, among others, with parameters and in any case", () => {
    expect(asking("application/x-ndjson")).toBe(true);
    expect(asking("application/json, application/x-ndjson;q=0.5")).toBe(true);
    expect(asking("Application/X-NDJSON ; q=1")).toBe(true);
  });

  it("not where the range is refused with q=0, nor for other types or none", () => {
    expect(asking("application/x-ndjson;q=0, application/json")).toBe(false);
    expect(asking("application/x-ndjson; q=0.000")).toBe(false);
    expect(asking("application/x-ndjsonx")).toBe(false);
    expect(asking("application/json")).toBe(false);
    expect(asking()).toBe(false);
  });
});
