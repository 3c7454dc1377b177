/**
 * What the hand-written byte-array writer (json-bytes-write.ts) and reader (json-bytes-read.ts)
 * share with each other and with json.ts: the length from which arrays are done by hand, the
 * scratch size kept between calls, and the text codecs. A file of its own so that the writer and
 * reader, which json.ts imports, need not import json.ts back (no import cycle).
 */

/** Byte arrays at least this long are written and read by hand; shorter ones are not worth it. */
export const BYTES_BY_HAND = 32;

export const utf8 = new TextEncoder();
/** The first piece of a text: a leading BOM goes, as TextDecoder does for a whole text. */
export const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Scratch kept between calls up to this size; a bigger one goes with its call. */
export const SCRATCH_KEPT = 1 << 20;
