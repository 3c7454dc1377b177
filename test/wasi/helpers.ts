import { expect } from "vitest";
import { Process, type ProcessInfo, type SpawnRequest } from "../../src/process.js";
import { guestApp } from "../helpers.js";

export interface Ran {
  info: ProcessInfo;
  stdout: string[];
  stderr: string[];
  process: Process;
}

let ids = 0;

/**
 * Runs a test guest as a process (src/process.ts, what a BusProcess object runs) over the test
 * registry, to its end: exit code or failure, and its output lines. `feed` runs once it started.
 */
export async function runProcess(
  module: string,
  args: string[],
  request: Omit<SpawnRequest, "module" | "args"> = {},
  options: { feed?: (p: Process) => unknown; timeoutMs?: number } = {},
): Promise<Ran> {
  const { runtime } = guestApp();
  const stdout: string[] = [];
  const stderr: string[] = [];
  let process!: Process;
  const info = await new Promise<ProcessInfo>((resolve, reject) => {
    process = new Process(`wasi-${++ids}`, { module, args, ...request }, {
      output: (stream, line) => (stream === "stdout" ? stdout : stderr).push(line),
      end: (info) => resolve({ ...info }),
    });
    try {
      process.start((name, o) => runtime.spawn(name, o));
    } catch (err) {
      reject(err);
      return;
    }
    void options.feed?.(process);
    setTimeout(() => {
      process.kill();
    }, options.timeoutMs ?? 8000);
  });
  return { info, stdout, stderr, process };
}

/** `name=value` pairs from lines like `a=1 b=2`. */
export function fields(lines: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines) for (const m of line.matchAll(/(\w+)=(\S+)/g)) out[m[1]!] = m[2]!;
  return out;
}

export function exited(ran: Ran, code = 0) {
  expect(ran.info, JSON.stringify({ stdout: ran.stdout.slice(0, 20), stderr: ran.stderr.slice(0, 20) })).toMatchObject({ status: "exited", code });
}
