import { env as testEnv } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { modules } from "../build/registry.js";
import { modules as testGuests } from "../build/test-registry.js";
import { setSessionModules } from "../durable-objects/bus-session.js";
import { Format } from "../src/abi.js";
import type { Env } from "../src/env.js";
import { MAX_PAYLOAD_BYTES } from "../src/manifest.js";

// A reply crosses Workers RPC when a process or session serves it, and RPC refuses a value over
// 32 MiB with an error naming no limit. parseManifest holds responseBytes to MAX_PAYLOAD_BYTES;
// here the guest bigreply (responseBytes at that most) answers through a session's object.

const env = testEnv as unknown as Env;
setSessionModules({ ...modules, ...testGuests });

const fill = (n: number) => ({ format: Format.Raw, data: new Uint8Array(new Uint32Array([n]).buffer) });
const session = () => env.SESSIONS.get(env.SESSIONS.idFromName(`bigreply/s-${crypto.randomUUID()}`));

describe("a reply as large as responseBytes may be crosses RPC from a session's object", () => {
  it(`arrives whole at MAX_PAYLOAD_BYTES (${MAX_PAYLOAD_BYTES})`, async () => {
    const out = await session().call("fill", fill(MAX_PAYLOAD_BYTES), { module: "bigreply" });
    expect(out.ok).toBe(true);
    expect((out as { value: { data: Uint8Array } }).value.data.length).toBe(MAX_PAYLOAD_BYTES);
  });
});
