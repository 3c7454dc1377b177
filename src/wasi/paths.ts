import { wasi as defs } from "@bjorn3/browser_wasi_shim";
import type { Import, WasiContext } from "./context.js";
import { Stdio } from "./stdio.js";

// The path_* imports. A process has no directory to resolve a path in (no preopens, only stdio),
// so on stdio each fails; but first its path must lie in memory, as Linux copies a path in before
// it looks at the directory fd and wasmtime reads it before it acts: a path that runs past memory
// is EFAULT. The shim read paths with Uint8Array.slice, which clamps (and counts a negative start,
// a pointer past 2 GiB as Wasm hands it over, from the end): a wild path was read short, empty or
// from elsewhere, and the call went on with it. Nothing here writes, so path_open's fd,
// path_readlink's buffer and bufused and path_filestat_get's filestat are never touched.

/** Where an import's arguments are: its directory fds and its paths (pointer, length) by index, and what it answers on stdio. */
interface Shape {
  fds: number[];
  paths: [number, number][];
  answer: number;
}

// What the shim answered on stdio, kept: path_open ENOTDIR, the rest ENOTSUP.
const SHAPES: Record<string, Shape> = {
  path_create_directory: { fds: [0], paths: [[1, 2]], answer: defs.ERRNO_NOTSUP },
  path_filestat_get: { fds: [0], paths: [[2, 3]], answer: defs.ERRNO_NOTSUP },
  path_filestat_set_times: { fds: [0], paths: [[2, 3]], answer: defs.ERRNO_NOTSUP },
  path_link: { fds: [0, 4], paths: [[2, 3], [5, 6]], answer: defs.ERRNO_NOTSUP },
  path_open: { fds: [0], paths: [[2, 3]], answer: defs.ERRNO_NOTDIR },
  path_readlink: { fds: [0], paths: [[1, 2]], answer: defs.ERRNO_NOTSUP },
  path_remove_directory: { fds: [0], paths: [[1, 2]], answer: defs.ERRNO_NOTSUP },
  path_rename: { fds: [0, 3], paths: [[1, 2], [4, 5]], answer: defs.ERRNO_NOTSUP },
  path_symlink: { fds: [2], paths: [[0, 1], [3, 4]], answer: defs.ERRNO_NOTSUP },
  path_unlink_file: { fds: [0], paths: [[1, 2]], answer: defs.ERRNO_NOTSUP },
};

/**
 * An fd that is not open EBADF (any of two, as the shim answered); then a path past memory
 * EFAULT; then on stdio the answer, and any other fd the shim's import, with its paths in memory.
 */
export function pathImports(ctx: WasiContext): Record<string, Import> {
  const imports: Record<string, Import> = {};
  for (const [name, { fds, paths, answer }] of Object.entries(SHAPES)) {
    imports[name] = ((...args: number[]) => {
      const open = fds.map((i) => ctx.fd(args[i]!));
      if (open.includes(undefined)) return defs.ERRNO_BADF;
      for (const [p, n] of paths) ctx.memory().check(args[p]!, args[n]!, `${name} path`);
      if (open.every((f) => f instanceof Stdio)) return answer;
      return ctx.base[name]!(...(args as never[]));
    }) as Import;
  }
  return imports;
}
