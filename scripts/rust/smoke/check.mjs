// Instantiates the smoke cdylib (no imports) and runs the wasip1 command under node:wasi.
// usage: node check.mjs <smoke_lib.wasm> <smoke_cli.wasm>
import fs from 'node:fs';
import { WASI } from 'node:wasi';
const lib = fs.readFileSync(process.argv[2]);
const mod = await WebAssembly.compile(lib);
console.log('lib imports:', JSON.stringify(WebAssembly.Module.imports(mod)));
console.log('lib exports:', WebAssembly.Module.exports(mod).map(e => e.name).join(','));
const inst = await WebAssembly.instantiate(mod, {});
const e = inst.exports;
console.log('add(2,3)=', e.add(2, 3));
const input = new TextEncoder().encode(JSON.stringify({ name: 'bus', count: 41 }));
const p = e.alloc(input.length);
new Uint8Array(e.memory.buffer, p, input.length).set(input);
const r = e.greet(p, input.length);
const ptr = Number(r >> 32n), len = Number(r & 0xffffffffn);
console.log('greet ->', new TextDecoder().decode(new Uint8Array(e.memory.buffer, ptr, len)));

const cli = await WebAssembly.compile(fs.readFileSync(process.argv[3]));
console.log('cli imports:', WebAssembly.Module.imports(cli).map(i => i.module + '.' + i.name).join(','));
const wasi = new WASI({ version: 'preview1', args: ['smoke', 'a1', 'b2'], env: { GREETING: 'hi' } });
const ci = await WebAssembly.instantiate(cli, wasi.getImportObject());
const code = wasi.start(ci);
console.log('cli exit code', code);
