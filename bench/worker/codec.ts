// The codec section's Worker (bench/sections/codec-workerd.mjs): the 64 KiB http.fetch response
// encoded and decoded K times per request, as JSON the way the runtime does it and through
// msgpackr with the runtime's options, so their CPU is what workerd spends (its allocator, its
// V8 flags), the CPU Workers bill. `/none` answers at once: the request's own cost.
import { Packr } from "msgpackr";
import { jsonBytes } from "../../build/json-bytes.js";
import { useJsonKernel } from "../../src/codec/json-kernel.js";
import { decode, encode } from "../../src/codec/index.js";
import { builtinServices } from "../../src/services/index.js";
import { fetchResponse } from "../lib/fetch-response.mjs";

useJsonKernel(jsonBytes);
// src/codec/index.ts's own options.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: "bigint", variableMapSize: true });
const schema = builtinServices().topics["http.fetch"]!.response;
const value = fetchResponse(65536);
const JSON_FORMAT = 1;

const ROUND_TRIPS: Record<string, () => { body: Uint8Array }> = {
  msgpackr: () => packr.unpack(packr.pack(value).slice()),
  json: () => decode(JSON_FORMAT, encode(JSON_FORMAT, value, schema), schema) as { body: Uint8Array },
  none: () => value,
};

export default {
  fetch(request: Request): Response {
    const url = new URL(request.url);
    const roundTrip = ROUND_TRIPS[url.pathname.slice(1)];
    if (!roundTrip) return new Response("no such codec", { status: 404 });
    const k = url.pathname === "/none" ? 1 : Number(url.searchParams.get("k") ?? 1);
    let length = 0;
    for (let i = 0; i < k; i++) length = roundTrip().body.length;
    // The body's length back: the caller checks every round trip gave the whole body.
    return new Response(String(length));
  },
};
