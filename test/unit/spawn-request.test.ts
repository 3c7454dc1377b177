import { describe, expect, it } from "vitest";
import { checkSpawnRequest } from "../../src/process.js";

// A spawn request's args and env reach the guest as UTF-8 C strings (src/wasi/args.ts): what
// cannot be one is refused by name (BadRequest), never changed on the way.

describe("checkSpawnRequest", () => {
  it("refuses an arg, env name or env value with a lone surrogate (JSON can carry one; UTF-8 cannot)", () => {
    const cases: [object, RegExp][] = [
      [{ args: ["ok", "bad\ud800"] }, /args\[1\] is not well-formed Unicode/],
      [{ env: { ["N\udc00"]: "v" } }, /env name "N\\udc00" is not well-formed Unicode/],
      [{ env: { K: "\ud83d" } }, /env K's value is not well-formed Unicode/],
    ];
    for (const [extra, message] of cases) {
      let thrown: unknown;
      try {
        checkSpawnRequest({ module: "m", ...extra });
      } catch (err) {
        thrown = err;
      }
      expect(thrown, JSON.stringify(extra)).toMatchObject({ codeName: "BadRequest", message: expect.stringMatching(message) });
    }
  });

  it("takes any well-formed text, pairs of surrogates included", () => {
    expect(() => checkSpawnRequest({ module: "m", args: ["😀", "ü"], env: { "É": "€" } })).not.toThrow();
  });
});
