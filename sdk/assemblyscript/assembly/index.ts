/**
 * The wasm-bus SDK for AssemblyScript. A module imports its API from here and
 * re-exports the ABI exports from ./exports (see README.md):
 *
 *   import { listen, Request, Value, Code } from "../../sdk/assemblyscript/assembly";
 *   export * from "../../sdk/assemblyscript/assembly/exports";
 */
export { ABI_VERSION, Code, codeName, Format, LogLevel, NO_HANDLE, OS_WAPM } from "./abi";
export { ByteWriter, text, utf8, utf8Bytes } from "./bytes";
export { Call, call, callValue } from "./call";
export { Adapter, Callback, Handler, Step } from "./handler";
export { liveHandles } from "./handles";
export { decodeJson, encodeJson, parseJson, stringifyJson } from "./json";
export { bytesToU64, KvEntry, KvPage, KvSwap, kvCas, kvDelete, kvGet, kvList, kvPut, kvRead, u64ToBytes } from "./kv";
export { log } from "./log";
export { decodeMsgpack, encodeMsgpack } from "./msgpack";
export { fetch, FetchRequest, FetchResponse, Header, now, sleep } from "./os";
export { decodeAs, encodeAs, formatFor, Payload } from "./payload";
export { Request } from "./request";
export { listen, listenUnder, listenWith, listenWithUnder, serve, serveWith, Server } from "./server";
export { Kind, Value } from "./value";
