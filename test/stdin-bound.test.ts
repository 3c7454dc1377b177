import { env as testEnv, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { modules } from "../build/registry.js";
import { modules as testGuests } from "../build/test-registry.js";
import { setProcessModules } from "../durable-objects/bus-process.js";
import { Code } from "../src/abi.js";
import type { Env } from "../src/env.js";
import { LIMIT_MAXIMA } from "../src/manifest.js";

// A spawn's stdin crosses Workers RPC to the process's object whole (src/http/processes.ts sends
// the request as it came), and RPC refuses a value over 32 MiB: parseManifest holds stdinBytes to
// 16 MiB (LIMIT_MAXIMA). The test guest stdin-max (test/guests/cmd with stdinBytes at that most)
// takes that much, keeps it unread through a rest (a save writes it in 1 MiB rows), and exits.

const env = testEnv as unknown as Env;
setProcessModules({ ...modules, ...testGuests });
const MOST = LIMIT_MAXIMA.stdinBytes.most;

describe("a spawn's stdin as large as stdinBytes may be", () => {
  it(`crosses RPC whole at ${MOST} bytes, is kept through a rest, and one byte more is LimitExceeded`, async () => {
    const id = env.PROCESSES.newUniqueId();
    const stub = env.PROCESSES.get(id);
    const made = await stub.spawn(id.toString(), { module: "stdin-max", args: ["hi"], stdin: "a".repeat(MOST) });
    expect(made.ok, JSON.stringify(made).slice(0, 300)).toBe(true);
    // Spawned: it sleeps 30 ms through the bus, and the spawn answered once it came to rest and was
    // saved, its stdin unread and whole in snapshot_stream.
    const saved = await runInDurableObject(stub, (_o, state) => Number(state.storage.sql.exec("SELECT max(end) AS end FROM snapshot_stream").one().end));
    expect(saved).toBe(MOST);
    let info = await stub.status();
    for (let i = 0; i < 250 && info?.status === "running"; i++) info = (await new Promise((r) => setTimeout(r, 20)), await stub.status());
    expect(info).toMatchObject({ status: "exited", code: 3 });

    const over = env.PROCESSES.newUniqueId();
    const refused = await env.PROCESSES.get(over).spawn(over.toString(), { module: "stdin-max", args: ["hi"], stdin: "a".repeat(MOST + 1) });
    expect(refused).toMatchObject({ ok: false, error: { code: Code.LimitExceeded, message: `stdin of ${MOST + 1} bytes is over module stdin-max's limit of ${MOST} (limits.stdinBytes)` } });
  });
});
