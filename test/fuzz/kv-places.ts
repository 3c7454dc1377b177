import { env as testEnv } from "cloudflare:test";
import { pack, unpack } from "msgpackr";
import { type CodeName, codeName, Format } from "../../src/abi.js";
import { decode } from "../../src/codec/index.js";
import type { Env } from "../../src/env.js";
import { unwrap } from "../../src/errors.js";
import { parseManifest } from "../../src/manifest.js";
import { kv } from "../../src/services/kv/index.js";
import { storeObjects } from "../../src/store.js";
import { modules } from "../../build/registry.js";
import { modules as testGuests } from "../../build/test-registry.js";
import { setProcessModules } from "../../durable-objects/bus-process.js";
import { setSessionModules } from "../../durable-objects/bus-session.js";
import { open } from "../bus-socket.js";
import { guestApp } from "../helpers.js";
import type { KvModelLimits } from "./kv-model.js";

/**
 * Where the kv fuzzer (test/kv-fuzz.test.ts) sends kv.* requests, in workerd: from the guest
 * kv-probe-tiny in plain calls (its BusStore object, over RPC) and in a bus session (the
 * session's object), and from daemon-rs in a process (the process's object), each with
 * kv-probe-tiny's limits. Each is driven the way real callers drive it: through the runtime.
 */
const env = testEnv as unknown as Env;

export const MODULE = "kv-probe-tiny";
export const LIMITS: KvModelLimits = parseManifest(MODULE, testGuests[MODULE]!.manifest).limits;
// A session's and a process's object run the test guests too; daemon-rs, a process, with kv-probe-tiny's kv limits.
const daemon = testGuests["daemon-rs"]!;
const tinyDaemon = { ...daemon, manifest: { ...(daemon.manifest as object), limits: LIMITS } };
setSessionModules({ ...modules, ...testGuests });
setProcessModules({ ...modules, ...testGuests, "daemon-rs": tinyDaemon });

export type Answer = { reply: unknown } | { code: CodeName; message: string };
/** One kv.* request as the guest sends it: the reply decoded, or the code it was refused with. */
export type Os = (topic: string, format: number, payload: Uint8Array) => Promise<Answer>;
/** Where the guest's keys are: how it is called, and the object that holds them. */
export interface Place {
  os: Os;
  stub: DurableObjectStub;
  /** The module whose keys they are. */
  module: string;
  close(): void | Promise<void>;
}

/** The guest's {format, payload} reply to os, decoded as `topic`'s reply. */
function answerOf(topic: string, format: number, bytes: Uint8Array): Answer {
  const reply = unpack(bytes) as { format: number; payload: Uint8Array };
  if (reply.format !== format) throw new Error(`a reply in format ${reply.format} to a request in ${format}`);
  return { reply: numbers(decode(format, reply.payload, kv.topics[topic]!.response)) };
}

/** Plain calls (POST /call): the keys are in the module's BusStore object, one RPC away. */
export function plainCalls(): Place {
  const { app } = guestApp({ storage: storeObjects(() => env.STORES) });
  const os: Os = async (topic, format, payload) => {
    const res = await app.request(`/call/${MODULE}/os`, {
      method: "POST",
      headers: { "content-type": "application/msgpack" },
      body: pack({ topic, format, payload }),
    });
    if (res.status !== 200) {
      const body = (await res.json()) as { code: number; error: string };
      return { code: codeName(body.code), message: body.error };
    }
    return answerOf(topic, format, new Uint8Array(await res.arrayBuffer()));
  };
  return { os, stub: env.STORES.get(env.STORES.idFromName(MODULE)), module: MODULE, close() {} };
}

/** Calls in a bus session (GET /bus/:module/:session): the keys are in the session's own object, answered within the call. */
export async function inSession(): Promise<Place> {
  const stub = env.SESSIONS.get(env.SESSIONS.idFromName(`${MODULE}/kv-fuzz-${crypto.randomUUID().slice(0, 8)}`));
  const socket = await open(`/bus/${MODULE}/s`, (path, init) => stub.fetch(`http://bus.test${path}`, init));
  let id = 0;
  const os: Os = async (topic, format, payload) => {
    const call = ++id;
    socket.ws.send(pack({ type: "call", id: call, topic: "os", format: "msgpack", payload: pack({ topic, format, payload }) }));
    const frame = await socket.next((f) => f.id === call && (f.type === "reply" || f.type === "fault"));
    if (frame.type === "fault") return { code: frame.codeName as CodeName, message: frame.error! };
    return answerOf(topic, format, frame.payload!);
  };
  return { os, stub, module: MODULE, close: () => socket.ws.close(1000, "done") };
}

/** Calls to a process (daemon-rs, whose os topic is kv-probe's): the keys are in the process's own object. */
export async function inProcess(): Promise<Place> {
  const id = env.PROCESSES.newUniqueId();
  const stub = env.PROCESSES.get(id);
  unwrap(await stub.spawn(id.toString(), { module: "daemon-rs" }));
  for (let i = 0; i < 100 && (await stub.status())?.status !== "running"; i++) await new Promise((r) => setTimeout(r, 20));
  const os: Os = async (topic, format, payload) => {
    const out = await stub.call("os", { format: Format.Msgpack, data: pack({ topic, format, payload }) });
    if (!out.ok) return { code: codeName(out.error.code), message: out.error.message };
    return answerOf(topic, format, out.value!.data);
  };
  return { os, stub, module: "daemon-rs", close: async () => void (await stub.kill()) };
}

/** Versions as numbers, whichever way a format decodes a u64. */
function numbers(v: unknown): unknown {
  if (typeof v === "bigint") return Number(v);
  if (v && typeof v === "object" && !(v instanceof Uint8Array) && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, numbers(x)]));
  return v;
}
