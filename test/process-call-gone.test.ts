import { env as testEnv, runInDurableObject } from "cloudflare:test";
import { pack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { modules } from "../build/registry.js";
import { modules as testGuests } from "../build/test-registry.js";
import { setProcessModules } from "../durable-objects/bus-process.js";
import { Format } from "../src/abi.js";
import type { Env } from "../src/env.js";
import type { ProcessInfo } from "../src/process.js";
import { guestApp } from "./helpers.js";

// A call to a process waits as long as its caller does (docs/host.md, "Limits and metering"):
// one whose HTTP caller went away must not go on holding the process's handles and timers, or
// callers that give up would fill the maxHandles every other caller of the process shares.

setProcessModules({ ...modules, ...testGuests });
const env = testEnv as unknown as Env;
const { app } = guestApp();
const stub = (id: string) => env.PROCESSES.get(env.PROCESSES.idFromString(id));
const sleeps = (id: string) => runInDurableObject(stub(id), (_o, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM timers WHERE tag = 'sleep'").one().n);

async function until(check: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 150; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function spawnDaemon(): Promise<string> {
  const res = await app.request("/processes", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ module: "daemon-rs" }) }, env);
  expect(res.status, await res.clone().text()).toBe(201);
  const { id } = (await res.json()) as ProcessInfo;
  const serving = async () => {
    const { lines } = (await (await app.request(`/processes/${id}/logs`, {}, env)).json()) as { lines: { msg: string }[] };
    return lines.some((l) => l.msg === "serving");
  };
  await until(serving, "daemon-rs to serve");
  return id;
}

/** daemon-rs os {topic, format, payload}: a ten-minute time.sleep, made by the process for this call. */
function tenMinuteSleep(id: string, accept: string, signal: AbortSignal): Request {
  const body = pack({ topic: "time.sleep", format: Format.Json, payload: new TextEncoder().encode('{"duration_ms":600000}') });
  return new Request(`http://bus.test/processes/${id}/call/os`, { method: "POST", headers: { "content-type": "application/msgpack", accept }, body, signal });
}

describe("POST /processes/:id/call/:topic whose caller goes away", () => {
  for (const accept of ["application/json", "application/x-ndjson"]) {
    it(`drops the call in the process (Accept: ${accept}): its sleep's timer goes, no handle stays held`, async () => {
      const id = await spawnDaemon();
      const gone = new AbortController();
      const request = tenMinuteSleep(id, accept, gone.signal);
      const answered = Promise.resolve(app.fetch(request, env)).catch((err: unknown) => err);
      await until(async () => (await sleeps(id)) === 1, "the call's sleep to start");
      gone.abort(new Error("the client gave up"));
      await until(async () => (await sleeps(id)) === 0, "the sleep of the abandoned call to end");
      await answered;
      await app.request(`/processes/${id}`, { method: "DELETE" }, env);
    });

    it(`makes no call in the process for a caller gone before it was made (Accept: ${accept}): gone while the process's status was asked`, async () => {
      const id = await spawnDaemon();
      const gone = new AbortController();
      const request = tenMinuteSleep(id, accept, gone.signal);
      const answered = Promise.resolve(app.fetch(request, env)).catch((err: unknown) => err);
      // The route is waiting for the process's status: no listener on the signal yet.
      gone.abort(new Error("the client gave up"));
      await Promise.race([answered, new Promise((r) => setTimeout(r, 2000))]);
      await new Promise((r) => setTimeout(r, 300));
      expect(await sleeps(id)).toBe(0);
      await app.request(`/processes/${id}`, { method: "DELETE" }, env);
    });
  }
});
