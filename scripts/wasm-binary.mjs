// What the build's binary rewrites share (scripts/wasm-memory-max.mjs, scripts/wasm-globals.mjs):
// LEB128 and the walk over a module's sections. Each rewrite changes one or two sections and
// copies the rest byte for byte, so nothing else in a module can change under it.

/** Reads an unsigned LEB128 at `at`: [value, next offset]. */
export function uleb(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++];
    if (b === undefined) throw new Error("truncated LEB128");
    value += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return [value, at];
    shift += 7;
    if (shift > 35) throw new Error("LEB128 too long for a u32");
  }
}

/** Skips a signed LEB128 of any width at `at`: the next offset. */
export function skipLeb(bytes, at) {
  while (bytes[at] & 0x80) at++;
  if (bytes[at] === undefined) throw new Error("truncated LEB128");
  return at + 1;
}

export function writeUleb(value) {
  const out = [];
  do {
    let b = value % 128;
    value = Math.floor(value / 128);
    if (value) b |= 0x80;
    out.push(b);
  } while (value);
  return out;
}

/** The sections of a module in order: id, where the section starts, its body, its end. */
export function sections(bytes) {
  if (bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) throw new Error("not a Wasm binary");
  const out = [];
  let at = 8;
  while (at < bytes.length) {
    const [size, body] = uleb(bytes, at + 1);
    out.push({ id: bytes[at], start: at, body, end: body + size });
    at = body + size;
  }
  return out;
}

/** A section as bytes: its id, its size, its body. */
export function section(id, body) {
  return Uint8Array.from([id, ...writeUleb(body.length), ...body]);
}
