/**
 * The bytes of `s` in UTF-8, counted without encoding it: a WebSocket text frame's on the wire
 * (durable-objects/unacked.ts), a fetched response's headers as the reply carries them. A lone
 * surrogate counts 3 bytes, as the U+FFFD a TextEncoder writes for it.
 */
export function utf8Length(s: string): number {
  let bytes = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a pair: 4 bytes for its 2 units
      i++;
    } else bytes += 2;
  }
  return bytes;
}
