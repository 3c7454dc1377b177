import { afterEach, describe, expect, it, vi } from "vitest";
import { guestApp } from "./helpers.js";

const METHODS = ["log", "info", "debug", "warn", "error", "trace"] as const;

/** Everything written to the console while `fn` runs, one string per call. */
async function consoleDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const written: string[] = [];
  const spies = METHODS.map((m) => vi.spyOn(console, m).mockImplementation((...args: unknown[]) => void written.push(`${m}: ${args.map(String).join(" ")}`)));
  try {
    await fn();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return written;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a command's output goes to the log sink and nowhere else", () => {
  it("countdown: no `wasi: …` debug line from browser_wasi_shim, nothing on the console", async () => {
    const { runtime, logs } = guestApp();
    let code = -1;
    const written = await consoleDuring(async () => {
      code = await runtime.spawn("countdown", { args: ["2", "1"] }).run();
    });
    expect(code).toBe(0);
    expect(written.filter((w) => w.includes("wasi:"))).toEqual([]);
    expect(written).toEqual([]);
    expect(logs.map((l) => l.msg)).toEqual(["2", "1"]);
  });

  it("upcase (stdin, asyncified) and a bad countdown (stderr, exit 2): the same", async () => {
    const { runtime, logs } = guestApp();
    const codes: number[] = [];
    const written = await consoleDuring(async () => {
      codes.push(await runtime.spawn("upcase", { stdin: new TextEncoder().encode("quiet\n") }).run());
      codes.push(await runtime.spawn("countdown", { args: ["x"] }).run());
    });
    expect(codes).toEqual([0, 2]);
    expect(written).toEqual([]);
    expect(logs.some((l) => l.msg.startsWith("wasi:"))).toBe(false);
    expect(logs.map((l) => [l.module, l.stream, l.msg])).toEqual([
      ["upcase", "stdout", "QUIET"],
      ["countdown", "stderr", expect.stringMatching(/^usage: countdown/)],
    ]);
  });
});
