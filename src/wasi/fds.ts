import { wasi as defs } from "@bjorn3/browser_wasi_shim";
import type { Import, WasiContext } from "./context.js";
import { Stdio } from "./stdio.js";

// The fd imports that only describe or refuse: on stdio (the only fds a process has) they answer
// here, as Linux answers for a pipe and as wasmtime's preview1 adapter
// (crates/wasi-preview1-component-adapter) answers for a stream. The shim answered ENOTSUP or
// success, wrote its structs a field at a time (a struct running past memory was written in part
// before EFAULT), and wrote fd_seek's offset, fd_pread's nread and fd_readdir's bufused even when
// it failed.

/** A preview1 `fdstat`: 24 bytes. */
const FDSTAT = 24;
/** A preview1 `filestat`: 64 bytes (the shim wrote its times at 38, 46 and 52, never 60-63). */
const FILESTAT = 64;

/**
 * On stdio, `answer`; an fd that is not open EBADF; any other fd the shim's import `name`. An
 * answer that writes checks the whole struct first and writes it at once: nothing at all on an
 * error.
 */
function onStdio(ctx: WasiContext, name: string, answer: (f: Stdio, ...args: never[]) => number): Import {
  return ((fd: number, ...args: never[]) => {
    const f = ctx.fd(fd);
    if (f === undefined) return defs.ERRNO_BADF;
    if (f instanceof Stdio) return answer(f, ...args);
    return ctx.base[name]!(fd as never, ...args);
  }) as Import;
}

export function fdImports(ctx: WasiContext): Record<string, Import> {
  const write = (ptr: number, bytes: Uint8Array, what: string) => {
    ctx.memory().write(ptr, bytes, what);
    return defs.ERRNO_SUCCESS;
  };
  return {
    fd_fdstat_get: onStdio(ctx, "fd_fdstat_get", (f, ptr: number) => {
      const b = new Uint8Array(FDSTAT);
      const v = new DataView(b.buffer);
      v.setUint8(0, f.filetype);
      v.setUint16(2, f.flags, true);
      v.setBigUint64(8, f.rights, true);
      return write(ptr, b, "fd_fdstat_get fdstat");
    }),
    fd_filestat_get: onStdio(ctx, "fd_filestat_get", (f, ptr: number) => {
      // dev, nlink, size and the times 0, as wasmtime answers for stdio.
      const b = new Uint8Array(FILESTAT);
      const v = new DataView(b.buffer);
      v.setBigUint64(8, f.ino, true);
      v.setUint8(16, f.filetype);
      return write(ptr, b, "fd_filestat_get filestat");
    }),
    // A pipe or a terminal has no position: lseek, pread, pwrite, posix_fadvise and
    // posix_fallocate say ESPIPE. (Linux's posix_fadvise succeeds on a terminal; a `tty` stdio is
    // ESPIPE all the same, as wasmtime's adapter answers for any stream: advice is a hint callers
    // pass over, and a terminal here is a stream the host makes, with no pages to advise on.)
    fd_seek: onStdio(ctx, "fd_seek", () => defs.ERRNO_SPIPE),
    fd_tell: onStdio(ctx, "fd_tell", () => defs.ERRNO_SPIPE),
    fd_pread: onStdio(ctx, "fd_pread", () => defs.ERRNO_SPIPE),
    fd_pwrite: onStdio(ctx, "fd_pwrite", () => defs.ERRNO_SPIPE),
    fd_advise: onStdio(ctx, "fd_advise", () => defs.ERRNO_SPIPE),
    fd_allocate: onStdio(ctx, "fd_allocate", () => defs.ERRNO_SPIPE),
    // Nothing to flush to storage: fsync and fdatasync say EINVAL for a pipe or a terminal, which
    // programs that sync their output (dd conv=fsync) expect and pass over; ftruncate says EINVAL
    // for what is not a regular file.
    fd_sync: onStdio(ctx, "fd_sync", () => defs.ERRNO_INVAL),
    fd_datasync: onStdio(ctx, "fd_datasync", () => defs.ERRNO_INVAL),
    fd_filestat_set_size: onStdio(ctx, "fd_filestat_set_size", () => defs.ERRNO_INVAL),
    // No times to set: a stream's filestat says 0 for each. wasmtime's adapter says EINVAL (a
    // stream is not a file), its native preview1 EBADF (for an fd that is open), Linux sets a
    // pipe's times; the shim said ENOTSUP, as for what it had not written. EINVAL, as for
    // fd_filestat_set_size: success would claim times that fd_filestat_get never shows.
    fd_filestat_set_times: onStdio(ctx, "fd_filestat_set_times", () => defs.ERRNO_INVAL),
    fd_readdir: onStdio(ctx, "fd_readdir", () => defs.ERRNO_NOTDIR),
  };
}
