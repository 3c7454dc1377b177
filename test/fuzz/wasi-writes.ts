/** A buffer in guest memory: where it starts, and how many bytes. */
export type Region = [ptr: number, len: number];

/** Bytes of one poll_oneoff event in preview1. */
export const EVENT = 32;

/**
 * The buffers a `wasi_snapshot_preview1` import may write, from its arguments (each read as a
 * u32) and what memory held before the call (its iovec arrays). The WASI fuzzer and the asyncify
 * fuzzer hold every import to writing nowhere else, so both read the ABI from this one place.
 * `proc`: the process's argv and environ, which args_get and environ_get write out (none by default).
 */
export function wasiWrites(name: string, given: (number | bigint)[], before: Uint8Array, proc: { argv: Uint8Array[]; environ: Uint8Array[] } = { argv: [], environ: [] }): Region[] {
  const u = (i: number) => Number(given[i]) >>> 0;
  const vecs = (at: number, n: number): Region[] => {
    const out: Region[] = [];
    const view = new DataView(before.buffer);
    for (let i = 0; i < Math.min(n, 100_000); i++) {
      const p = at + i * 8;
      if (p + 8 > before.length) break;
      out.push([view.getUint32(p, true), view.getUint32(p + 4, true)]);
    }
    return out;
  };
  const total = (list: Uint8Array[]) => list.reduce((s, e) => s + e.length, 0);
  switch (name) {
    case "args_sizes_get":
    case "environ_sizes_get":
      return [[u(0), 4], [u(1), 4]];
    case "args_get":
      return [[u(0), proc.argv.length * 4], [u(1), total(proc.argv)]];
    case "environ_get":
      return [[u(0), proc.environ.length * 4], [u(1), total(proc.environ)]];
    case "clock_res_get":
      return [[u(1), 8]];
    case "clock_time_get":
      return [[u(2), 8]];
    case "fd_fdstat_get":
      return [[u(1), 24]];
    case "fd_filestat_get":
      return [[u(1), 64]];
    case "fd_prestat_get":
      return [[u(1), 8]];
    case "fd_prestat_dir_name":
      return [[u(1), u(2)]];
    case "fd_pread":
      return [...vecs(u(1), u(2)), [u(4), 4]];
    case "fd_read":
      return [...vecs(u(1), u(2)), [u(3), 4]];
    case "fd_pwrite":
      return [[u(4), 4]];
    case "fd_write":
      return [[u(3), 4]];
    case "fd_readdir":
      return [[u(1), u(2)], [u(4), 4]];
    case "fd_seek":
      return [[u(3), 8]];
    case "fd_tell":
      return [[u(1), 8]];
    case "path_filestat_get":
      return [[u(4), 64]];
    case "path_open":
      return [[u(8), 4]];
    case "path_readlink":
      return [[u(3), u(4)], [u(5), 4]];
    case "poll_oneoff":
      return [[u(1), u(2) * EVENT], [u(3), 4]];
    case "random_get":
      return [[u(0), u(1)]];
    case "sock_accept":
      return [[u(2), 4]];
    case "sock_recv":
      return [...vecs(u(1), u(2)), [u(4), 4], [u(5), 2]];
    case "sock_send":
      return [[u(4), 4]];
    default:
      return [];
  }
}
