/**
 * @wasm-bus/client: call wasm-bus modules from browsers, Workers and Node.
 * README.md shows each part; docs/abi.md (in the repository) is the protocol.
 */
export { Client, type CallOptions, type ModuleClient, type ModuleInfo, type TypedClientOptions } from "./client.js";
export { Session, type SessionEvents, type SessionOptions, type SessionState } from "./session.js";
export { MAX_UNREAD_CALLBACKS, SessionCall, type CallbackEvent, type CallState, type SessionCallOptions } from "./session-call.js";
export { type KeptLine, type LogLine, type LogsOptions, ProcessHandle, WAIT_REATTACHES, type ProcessInfo, type ProcessStatus, type SpawnOptions } from "./process.js";
export { type AttachOptions, Attachment, type ProcessEnd, type ProcessEvent } from "./attach.js";
export { BusError, type ErrorBody } from "./errors.js";
export { Code, codeName, type CodeName, type FormatName } from "./codes.js";
export type { CallFormat } from "./codec.js";
export { MAX_REPLY_BYTES, type ClientOptions, type SocketFactory, type SocketLike } from "./http.js";
export { STABLE_MS, type ReconnectOptions } from "./backoff.js";
export { topic, type Bytes, type Int64, type ModuleDef, type ModuleTable, type TopicDef, type RequestOf, type ResponseOf, type CallbacksOf } from "./types.js";
export { modules, type Modules } from "./generated/modules.js";
