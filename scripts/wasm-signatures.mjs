// Reads the function signatures a .wasm imports and exports, straight from its
// binary, so test/abi-table.test.ts can hold every built module (AssemblyScript,
// Rust, WAT) against the one ABI table in src/abi.ts.
const VALTYPES = { 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64", 0x7b: "v128", 0x70: "funcref", 0x6f: "externref" };

export function signatures(bytes) {
  let pos = 8;
  const u32 = () => {
    let result = 0, shift = 0, byte;
    do {
      byte = bytes[pos++];
      result |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    return result >>> 0;
  };
  const name = () => {
    const len = u32();
    const s = new TextDecoder().decode(bytes.subarray(pos, pos + len));
    pos += len;
    return s;
  };
  const limits = () => {
    const flags = bytes[pos++];
    u32();
    if (flags & 1) u32();
  };
  const types = [];
  const funcs = []; // type index per function, imports first
  const imports = {};
  const exports = {};
  while (pos < bytes.length) {
    const id = bytes[pos++];
    const size = u32();
    const end = pos + size;
    if (id === 1) {
      for (let n = u32(); n > 0; n--) {
        if (bytes[pos++] !== 0x60) return { imports, exports, unparsed: "non-function types" };
        const params = Array.from({ length: u32() }, () => VALTYPES[bytes[pos++]]);
        const results = Array.from({ length: u32() }, () => VALTYPES[bytes[pos++]]);
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        const key = `${name()}.${name()}`;
        const kind = bytes[pos++];
        if (kind === 0) {
          const type = u32();
          funcs.push(type);
          imports[key] = types[type];
        } else if (kind === 1) {
          pos++;
          limits();
        } else if (kind === 2) limits();
        else if (kind === 3) pos += 2;
        else if (kind === 4) {
          pos++;
          u32();
        }
      }
    } else if (id === 3) {
      for (let n = u32(); n > 0; n--) funcs.push(u32());
    } else if (id === 7) {
      for (let n = u32(); n > 0; n--) {
        const key = name();
        const kind = bytes[pos++];
        const index = u32();
        exports[key] = kind === 0 ? types[funcs[index]] : ["func", "table", "memory", "global", "tag"][kind];
      }
    }
    pos = end;
  }
  return { imports, exports };
}
