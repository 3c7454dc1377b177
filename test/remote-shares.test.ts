import { env as testEnv } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { modules } from "../build/registry.js";
import { modules as testGuests } from "../build/test-registry.js";
import { setSessionModules } from "../durable-objects/bus-session.js";
import { Code, Format } from "../src/abi.js";
import { CALLER_SHARE, SOCKET_SHARE, shareCap } from "../src/call-shares.js";
import type { Payload } from "../src/codec/index.js";
import type { Env } from "../src/env.js";
import { DEFAULT_LIMITS } from "../src/manifest.js";
import type { CallEvents } from "../src/objects.js";
import { sessionKey } from "../src/session-names.js";
import { open } from "./bus-socket.js";

// Calls that come by Workers RPC (a module's call to chat@room, the Worker's HTTP calls) hold
// handles of the instance a session's own clients use: each caller key holds at most a quarter
// of its maxHandles, so one module's instances or one burst of HTTP callers cannot lock the rest out.

/** chat with few handles, so a share fills in a few calls: a caller by RPC holds 8 of 32, a socket 2. */
const MODULE = "chat-small";
const LIMITS = { ...DEFAULT_LIMITS, maxHandles: 32 };
setSessionModules({ ...modules, ...testGuests, [MODULE]: { ...modules.chat!, manifest: { ...(modules.chat!.manifest as object), limits: { maxHandles: LIMITS.maxHandles } } } });
const env = testEnv as unknown as Env;
const SHARE = shareCap(CALLER_SHARE, LIMITS);

function room() {
  const session = `share-${crypto.randomUUID().slice(0, 8)}`;
  const stub = env.SESSIONS.get(env.SESSIONS.idFromName(sessionKey(MODULE, session)));
  /** A client of the session's own, through its object (the Worker serves no module chat-small). */
  const member = () => open(`/bus/${MODULE}/${session}`, (path, init) => stub.fetch(`http://bus.test${path}`, init));
  /**
   * A kept-alive join by RPC under the caller key `caller`, as src/remote.ts makes it: `first`
   * settles with its reply, or with its end where it ends first (a refusal).
   */
  const join = (caller: string, name: string, callback: CallEvents["callback"] = () => Code.Success) => {
    const id = crypto.randomUUID();
    let replied!: (value: unknown) => void;
    const reply = new Promise((resolve) => (replied = resolve));
    const events: CallEvents = { callback, reply: (p: Payload) => replied(JSON.parse(new TextDecoder().decode(p.data))) };
    const ended = stub.call("join", { format: Format.Json, data: new TextEncoder().encode(JSON.stringify({ name })) }, { id, module: MODULE, keepalive: true, caller }, events);
    const first = Promise.race([reply.then((value) => ({ replied: value })), ended.then((outcome) => ({ ended: outcome }))]);
    return { id, first, ended };
  };
  return { stub, member, join };
}

const refusal = (caller: string) => ({
  ended: {
    ok: false,
    error: expect.objectContaining({
      code: Code.LimitExceeded,
      message: `caller ${caller} holds ${SHARE} live calls already, its share (a quarter of the module's limits.maxHandles, ${LIMITS.maxHandles}): end some first`,
    }),
  },
});

describe("a caller by RPC holds at most a quarter of the instance's handles", () => {
  it(`one caller key past its share (${SHARE} of maxHandles ${LIMITS.maxHandles}) is refused LimitExceeded; a socket of the session and another key are answered; a call fits again once one ends`, async () => {
    expect(SHARE).toBe(8);
    expect(shareCap(SOCKET_SHARE, LIMITS)).toBe(2);
    const { stub, member, join } = room();
    // A burst past every handle of the instance, from one module's instances.
    const burst = Array.from({ length: LIMITS.maxHandles + 8 }, (_, i) => join("relay", `r${i}`));
    const firsts = await Promise.all(burst.map((j) => j.first));
    const joined = firsts.filter((f) => "replied" in f);
    expect(joined).toHaveLength(SHARE);
    const refused = firsts.filter((f) => "ended" in f);
    expect(refused).toHaveLength(burst.length - SHARE);
    for (const f of refused) expect(f).toEqual(refusal("relay"));

    // The session's own client joins and posts: every member hears it, the full caller's too.
    const ws = await member();
    ws.call(1, "join", { name: "ws" }, { keepalive: true });
    expect(ws.json(await ws.next((f) => f.id === 1))).toEqual({ joined: "ws", members: SHARE + 1 });
    // And a caller under another key (the Worker's HTTP callers).
    const http = join("http", "h");
    expect(await http.first).toEqual({ replied: { joined: "h", members: SHARE + 2 } });
    ws.call(2, "post", { text: "still mine" }, { parent: 1 });
    expect(ws.json(await ws.next((f) => f.id === 2 && f.type === "reply"))).toEqual({ delivered: SHARE + 2 });

    // A drop gives the share back: the full key fits one more call, and only one.
    const kept = burst.filter((_, i) => "replied" in firsts[i]!);
    await stub.drop(kept[0]!.id);
    expect(await kept[0]!.ended).toEqual({ ok: true, value: null });
    expect(await join("relay", "again").first).toEqual({ replied: { joined: "again", members: SHARE + 2 } });
    expect(await join("relay", "more").first).toEqual(refusal("relay"));
    ws.ws.close(1000, "done");
  });

  it("gives a caller's share back when the caller goes away (its callbacks can no longer reach it)", async () => {
    const { member, join } = room();
    let gone = false;
    const callback = () => {
      if (gone) throw new Error("the caller's isolate is gone");
      return Code.Success;
    };
    const kept = Array.from({ length: SHARE }, (_, i) => join("relay", `r${i}`, callback));
    for (const j of kept) expect(await j.first).toHaveProperty("replied");
    expect(await join("relay", "full").first).toEqual(refusal("relay"));

    // The caller goes away; a post's callbacks to its joins fail, and the joins end with them.
    gone = true;
    const ws = await member();
    ws.call(1, "join", { name: "ws" }, { keepalive: true });
    expect((await ws.next((f) => f.id === 1)).type).toBe("reply");
    ws.call(2, "post", { text: "anyone?" }, { parent: 1 });
    expect(ws.json(await ws.next((f) => f.id === 2 && f.type === "reply"))).toEqual({ delivered: SHARE + 1 });
    await Promise.all(kept.map((j) => j.ended));
    gone = false;
    const back = Array.from({ length: SHARE }, (_, i) => join("relay", `back${i}`));
    for (const j of back) expect(await j.first).toHaveProperty("replied");
    ws.ws.close(1000, "done");
  });
});
