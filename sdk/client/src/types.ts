import type { FormatName } from "./codes.js";

/**
 * One topic of a module: its format at run time, and its request, response and callback types
 * for the compiler only (`types` is never set; it carries the types the generator wrote).
 */
export interface TopicDef<Req = unknown, Res = unknown, Callbacks extends object = Record<string, unknown>> {
  readonly format: FormatName;
  readonly description?: string;
  readonly types?: { request: Req; response: Res; callbacks: Callbacks };
}

/** A module's topics by name. */
export type ModuleDef = { readonly [topic: string]: TopicDef<any, any, any> };

/** Modules by name: what `sdk/client/scripts/generate.mjs` writes from the modules' manifests. */
export type ModuleTable = { readonly [module: string]: ModuleDef };

/** A topic's description, typed: what the generated table is made of. */
export function topic<Req, Res, Callbacks extends object = {}>(format: FormatName, description?: string): TopicDef<Req, Res, Callbacks> {
  return description === undefined ? { format } : { format, description };
}

export type RequestOf<T> = T extends TopicDef<infer R, any, any> ? R : unknown;
export type ResponseOf<T> = T extends TopicDef<any, infer R, any> ? R : unknown;
export type CallbacksOf<T> = T extends TopicDef<any, any, infer C> ? C : Record<string, unknown>;

/** What a module name stands for: its topics where the table knows it, any topic otherwise. */
export type ModuleOf<M extends ModuleTable, Name extends string> = Name extends keyof M ? M[Name] : UntypedModule;

/** A module the table does not describe: any topic, any values. */
export type UntypedModule = { readonly [topic: string]: TopicDef<unknown, unknown, Record<string, unknown>> };

/** Integers of 64 bits and more: a number where exact, a bigint past 2^53. */
export type Int64 = number | bigint;

/** Bytes: a Uint8Array (msgpack bin), or in JSON an array of 0-255. */
export type Bytes = Uint8Array | number[];
