import { describe, expect, it } from "vitest";
import { readCapped } from "../../src/bytes.js";
import { BusError } from "../../src/errors.js";

const body = (n: number) => new Response(new Uint8Array(n)).body;

describe("readCapped holds a body to the limit, whatever length it declares", () => {
  it("a declared length within the limit over a body past it: LimitExceeded naming both", async () => {
    const err = await readCapped(body(100), "10", 50, "http.fetch response").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect((err as BusError).message).toBe("http.fetch response of 100 bytes (declared 10) is over the limit of 50");
  });

  it("a body within the limit is read whole, declared or not", async () => {
    expect((await readCapped(body(50), "50", 50, "x")).length).toBe(50);
    expect((await readCapped(body(50), null, 50, "x")).length).toBe(50);
    await expect(readCapped(body(51), null, 50, "x")).rejects.toThrow("x is over the limit of 50 bytes");
  });
});
