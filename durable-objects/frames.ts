import { type Options, Packr } from "msgpackr";
import { FORMAT_NAMES, type FormatName, formatName } from "../src/abi.js";
import { withBomsKept } from "../src/codec/msgpack-bom.js";
import { bomStrs, msgpackFault } from "../src/codec/msgpack-scan.js";
import { BusError } from "../src/errors.js";

/**
 * Frames of the inbound bus WebSocket (GET /bus/:module), msgpack maps.
 * docs/host.md ("The bus over a WebSocket") is their spec.
 */
export type ClientFrame =
  | { type: "call"; id: number; topic: string; format: FormatName; payload: Uint8Array; keepalive?: boolean; parent?: number; wapm?: string }
  | { type: "drop"; id: number }
  /** `bytes`: of every frame the client received on this socket; checked against what was sent (unacked.ts). */
  | { type: "ack"; bytes: unknown };

export type ServerFrame =
  | { type: "reply"; id: number; format: FormatName; payload: Uint8Array }
  | { type: "fault"; id: number; code: number; codeName: string; error: string; detail?: string }
  | { type: "callback"; id: number; topic: string; format: FormatName; payload: Uint8Array }
  | { type: "error"; code: number; codeName: string; error: string };

/** Room in a frame for what is not payload: its type, id, topic, format, wapm, parent. */
export const FRAME_OVERHEAD = 64 << 10;

// Records off: workerd forbids the code generation msgpackr uses for them. A 64-bit integer
// (0xcf, 0xd3: what some encoders write for any u64 or i64 field) is a number where it is one
// exactly: msgpackr's default made every one a bigint, and a client's ids and acks were refused.
// ("auto" is in msgpackr's README and code, not yet in its types.)
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: "auto" as Options["int64AsType"] });

/** The fault frame of a failed call: the same fields as the HTTP error body. */
export function faultFrame(id: number, err: unknown): ServerFrame {
  const bus = BusError.from(err);
  return { type: "fault", id, code: bus.code, codeName: bus.codeName, error: bus.message, ...(bus.detail !== undefined ? { detail: bus.detail } : {}) };
}

export function encodeFrame(frame: ServerFrame | ClientFrame): Uint8Array {
  return packr.pack(frame).slice();
}

/**
 * A frame the server cannot read. `call` is the id of a call frame whose id could be read (its
 * other fields could not): that call is answered with a fault, so the client's call ends.
 */
export class BadFrame extends Error {
  constructor(
    message: string,
    readonly call?: number,
  ) {
    super(message);
  }
}

/** The error frame of a frame refused that is no call's: it carries no id, so it ends no call. */
export function errorFrame(err: unknown): ServerFrame {
  const bus = BusError.from(err);
  return { type: "error", code: bus.code, codeName: bus.codeName, error: bus.message };
}

/**
 * The answer to a frame the server cannot read: a fault for its call where its id is known, else
 * an error frame. `live` says whether that id is a live call's of the socket: a fault with it
 * would end that call at its client, whose reply is still to come, so it gets an error frame too.
 */
export function badFrameAnswer(err: BadFrame, live: (id: number) => boolean): ServerFrame {
  if (err.call !== undefined && !live(err.call)) return faultFrame(err.call, BusError.of("BadRequest", `bad frame: ${err.message}`));
  const inUse = err.call !== undefined ? ` (its id ${err.call} is a live call's, which goes on)` : "";
  return errorFrame(BusError.of("BadRequest", `bad frame: ${err.message}${inUse}`));
}

/** Parses and checks a client frame; throws a BadFrame whose message names the fault. */
export function decodeFrame(data: ArrayBuffer | string): ClientFrame {
  if (typeof data === "string") throw new BadFrame("frames are binary msgpack, not text");
  let raw: Record<string, unknown>;
  const bytes = new Uint8Array(data);
  try {
    // A frame is one map, its payload one bin: past as many maps and arrays as JSON in the room
    // for what is not payload could hold (32,768), none is made (a frame of 2 MiB of empty arrays
    // was two million objects). Only the budget is held here, past anything else: what else the
    // scan refuses (ext values, which msgpackr makes of a client's undefined fields, 0xc1, a str
    // not UTF-8) is left to msgpackr and the field checks below, as it was.
    msgpackFault(bytes, FRAME_OVERHEAD, true);
  } catch (err) {
    throw new BadFrame((err as Error).message);
  }
  // msgpackr drops the leading U+FEFF of a long str (in workerd): a topic "\ufeff..." named another topic.
  const kept = bomStrs ? withBomsKept(bytes, bomStrs) : bytes;
  try {
    raw = packr.unpack(kept) as Record<string, unknown>;
  } catch (err) {
    throw new BadFrame(`not msgpack: ${(err as Error).message}`);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw) || raw instanceof Uint8Array) throw new BadFrame("a frame is a msgpack map");
  // An ack is no call's: it has no id.
  if (raw.type === "ack") return { type: "ack", bytes: raw.bytes };
  const id = raw.id;
  if (!isId(id)) throw new BadFrame("id must be a non-negative integer below 2^53");
  if (raw.type === "drop") return { type: "drop", id };
  if (raw.type !== "call") throw new BadFrame(`unknown frame type ${JSON.stringify(raw.type)}`);
  // A call frame from here on: its id is known, so what is wrong fails that call.
  const bad = (message: string) => new BadFrame(message, id);
  if (typeof raw.topic !== "string" || !raw.topic) throw bad("call.topic must be a string");
  const format = typeof raw.format === "number" ? formatName(raw.format) : (raw.format as FormatName);
  if (!format || !FORMAT_NAMES.includes(format)) throw bad(`call.format must be one of ${FORMAT_NAMES.join(", ")}`);
  const payload = raw.payload ?? new Uint8Array();
  if (!(payload instanceof Uint8Array)) throw bad("call.payload must be bytes (msgpack bin)");
  if (raw.parent !== undefined && !isId(raw.parent)) throw bad("call.parent must be the id of an earlier call");
  if (raw.wapm !== undefined && typeof raw.wapm !== "string") throw bad("call.wapm must be a string");
  return {
    type: "call",
    id,
    topic: raw.topic,
    format,
    payload,
    keepalive: raw.keepalive === true,
    parent: raw.parent as number | undefined,
    wapm: raw.wapm as string | undefined,
  };
}

/** A call id: an integer a client can count with exactly. */
function isId(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}
