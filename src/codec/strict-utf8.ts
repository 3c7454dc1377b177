/**
 * The codecs' reader of UTF-8 that is one value, not a whole text: bytes that are not UTF-8 throw,
 * and a leading U+FEFF is a character it keeps, where a text's reader drops it as a BOM ("\ufeffa"
 * is not "a"). One for them all: msgpack strs, bincode strings, JSON's keys and its pieces after
 * the first. A file of its own, importing nothing, so that any codec file may import it.
 */
export const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
