import { wasi as defs } from "@bjorn3/browser_wasi_shim";
import { describe, expect, it, vi } from "vitest";
import { GuestMemory } from "../../src/memory.js";
import { Pipe } from "../../src/pipe.js";
import { MAX_LINE, type WasiOptions, wasiImports } from "../../src/wasi.js";
import { Lines, MAX_WRITE_LINES } from "../../src/wasi/stdio.js";

// The WASI import table (src/wasi.ts) called as a guest would, on a real WebAssembly.Memory: the
// arithmetic on guest pointers and lengths, and what each import answers.

type Fn = (...args: (number | bigint)[]) => number;

function wasi(options: WasiOptions = {}, pages = 1) {
  const memory = new GuestMemory(new WebAssembly.Memory({ initial: pages }));
  // What came out, per stream: its lines (the first 100), how many, and their characters.
  const out = { stdout: { lines: [] as string[], count: 0, chars: 0 }, stderr: { lines: [] as string[], count: 0, chars: 0 } };
  const log = (stream: "stdout" | "stderr", line: string) => {
    if (out[stream].lines.length < 100) out[stream].lines.push(line);
    out[stream].count++;
    out[stream].chars += line.length;
  };
  const never = () => new Promise<void>(() => {});
  const made = wasiImports(options, { memory: () => memory, clock: { sleepUntil: never, now: Date.now }, log });
  const call = (name: string, ...args: (number | bigint)[]) => (made.imports[name] as Fn)(...args);
  const bytes = () => new Uint8Array(memory.raw.buffer);
  const view = () => new DataView(memory.raw.buffer);
  return { memory, made, call, bytes, view, out };
}

describe("WASI args and environ", () => {
  it("args_sizes_get counts UTF-8 bytes, so args_get writes no byte past the buffer it asked for", () => {
    const args = ["wasi", "€uro", "😀", "ü".repeat(20)];
    const { call, view, bytes } = wasi({ args });
    expect(call("args_sizes_get", 0, 4)).toBe(defs.ERRNO_SUCCESS);
    const encoded = args.map((a) => new TextEncoder().encode(a));
    const size = encoded.reduce((n, e) => n + e.length + 1, 0);
    expect(view().getUint32(0, true)).toBe(args.length);
    expect(view().getUint32(4, true)).toBe(size);
    // The buffer the guest sized by that answer, with a guard byte just past it.
    const argv = 64;
    const buf = 128;
    bytes().fill(0xaa, buf, buf + size + 64);
    expect(call("args_get", argv, buf)).toBe(defs.ERRNO_SUCCESS);
    expect(bytes()[buf + size]).toBe(0xaa);
    const got = encoded.map((_, i) => {
      const p = view().getUint32(argv + i * 4, true);
      const end = bytes().indexOf(0, p);
      return new TextDecoder().decode(bytes().subarray(p, end));
    });
    expect(got).toEqual(args);
  });

  it("a buffer that runs past memory is EFAULT, with nothing written", () => {
    const { call, bytes } = wasi({ args: ["a", "b"], env: { K: "v" } });
    const end = bytes().length;
    expect(call("args_get", 0, end - 2)).toBe(defs.ERRNO_FAULT);
    expect(call("environ_get", 0, end - 3)).toBe(defs.ERRNO_FAULT);
    expect(bytes().every((b) => b === 0)).toBe(true);
  });
});

describe("WASI fd_write", () => {
  it("one call ends at most MAX_WRITE_LINES lines; the rest is a short write, and a loop of calls writes it all", () => {
    // 16 MiB of newlines in one call was 16 million lines of host work (and an array of them)
    // before the guest ran again: past a Worker's memory and CPU, from one import call.
    const { call, view, bytes, out } = wasi({}, 4);
    const n = 4 * 65536 - 4096;
    bytes().fill(10, 4096);
    view().setUint32(64, 4096, true);
    view().setUint32(68, n, true);
    expect(call("fd_write", 1, 64, 1, 72)).toBe(defs.ERRNO_SUCCESS);
    expect(view().getUint32(72, true)).toBe(MAX_WRITE_LINES);
    expect(out.stdout.count).toBe(MAX_WRITE_LINES);
    // What libc's write loop does with a short write: on from where it stopped.
    let written = MAX_WRITE_LINES;
    let calls = 1;
    while (written < n) {
      view().setUint32(64, 4096 + written, true);
      view().setUint32(68, n - written, true);
      expect(call("fd_write", 1, 64, 1, 72)).toBe(defs.ERRNO_SUCCESS);
      written += view().getUint32(72, true);
      calls++;
    }
    expect(written).toBe(n);
    expect(calls).toBe(Math.ceil(n / MAX_WRITE_LINES));
    expect(out.stdout.count).toBe(n);
  });


  it("iovecs that point at the same bytes again and again write no more than memory holds, and nwritten says how much", () => {
    // 65,536 iovecs, each the first 64 KiB of memory: 4 GiB asked for from 576 KiB. Taken in
    // full it is minutes of host time in one call, and nwritten wraps to 0.
    const { call, view, out, made } = wasi({}, 9);
    const count = 65536;
    const iovs = 65536;
    for (let i = 0; i < count; i++) {
      view().setUint32(iovs + i * 8, 0, true);
      view().setUint32(iovs + i * 8 + 4, 65536, true);
    }
    const started = Date.now();
    expect(call("fd_write", 1, iovs, count, 16)).toBe(defs.ERRNO_SUCCESS);
    expect(Date.now() - started).toBeLessThan(2000);
    const nwritten = view().getUint32(16, true);
    expect(nwritten).toBeGreaterThan(0);
    expect(nwritten).toBeLessThanOrEqual(9 * 65536);
    // What was reported written is what came out (zeros: one character a byte), in 64 KiB pieces.
    made.flush();
    expect(out.stdout.chars).toBe(nwritten);
  });
});

describe("WASI random_get", () => {
  it("a buffer past memory is EFAULT before any randomness is made (no host buffer of the asked length)", () => {
    const { call, bytes } = wasi();
    const spy = vi.spyOn(crypto, "getRandomValues");
    try {
      // 64 MiB asked for from a 64 KiB memory; then all of u32 (-1 as the i32 a guest passes).
      expect(call("random_get", 0, 64 * 1024 * 1024)).toBe(defs.ERRNO_FAULT);
      expect(spy).not.toHaveBeenCalled();
      expect(call("random_get", 16, -1)).toBe(defs.ERRNO_FAULT);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
    expect(bytes().every((b) => b === 0)).toBe(true);
  });

  it("fills the whole buffer, in place, however long", () => {
    const { call, bytes } = wasi({}, 4);
    expect(call("random_get", 1, 4 * 65536 - 2)).toBe(defs.ERRNO_SUCCESS);
    const b = bytes();
    expect(b[0]).toBe(0);
    expect(b[b.length - 1]).toBe(0);
    // 256 KiB of randomness: no 1 KiB stretch of it is all zeros.
    for (let at = 1; at + 1024 < b.length - 1; at += 1024) expect(b.subarray(at, at + 1024).some((x) => x !== 0)).toBe(true);
  });
});

describe("WASI fd_renumber", () => {
  /** Writes `text` to `fd` as one iovec; the errno. */
  function write(w: ReturnType<typeof wasi>, fd: number, text: string): number {
    const bytes = new TextEncoder().encode(text);
    w.bytes().set(bytes, 1024);
    w.view().setUint32(512, 1024, true);
    w.view().setUint32(516, bytes.length, true);
    return w.call("fd_write", fd, 512, 1, 520);
  }

  it("an fd renumbered onto itself stays open, as dup2(fd, fd) leaves it", () => {
    const w = wasi();
    expect(w.call("fd_renumber", 1, 1)).toBe(defs.ERRNO_SUCCESS);
    expect(write(w, 1, "still here\n")).toBe(defs.ERRNO_SUCCESS);
    expect(w.out.stdout.lines).toEqual(["still here"]);
    expect(w.call("fd_renumber", 7, 7)).toBe(defs.ERRNO_BADF);
  });

  it("a snapshot keeps which stream each fd is: stderr renumbered onto 1 is still stderr once restored", () => {
    const w = wasi();
    expect(w.call("fd_renumber", 2, 1)).toBe(defs.ERRNO_SUCCESS);
    const state = JSON.parse(JSON.stringify(w.made.save()));
    const restored = wasi();
    restored.made.load(state);
    expect(write(restored, 1, "to stderr\n")).toBe(defs.ERRNO_SUCCESS);
    expect(write(restored, 2, "fd 2 is closed\n")).toBe(defs.ERRNO_BADF);
    expect(restored.out.stderr.lines).toEqual(["to stderr"]);
    expect(restored.out.stdout.lines).toEqual([]);
  });
});

describe("WASI clocks", () => {
  it("a clock id preview1 does not define is EINVAL, with nothing written; the CPU-time clocks are as documented", () => {
    const { call, view } = wasi();
    view().setBigUint64(64, 0xdeadn, true);
    for (const id of [4, 99, -1]) {
      expect(call("clock_time_get", id, 0n, 64), `clock_time_get ${id}`).toBe(defs.ERRNO_INVAL);
      expect(call("clock_res_get", id, 64), `clock_res_get ${id}`).toBe(defs.ERRNO_INVAL);
    }
    expect(view().getBigUint64(64, true)).toBe(0xdeadn);
    // docs/host.md: the CPU-time clocks read 0, and have no resolution.
    expect(call("clock_time_get", defs.CLOCKID_PROCESS_CPUTIME_ID, 0n, 64)).toBe(defs.ERRNO_SUCCESS);
    expect(call("clock_res_get", defs.CLOCKID_THREAD_CPUTIME_ID, 64)).toBe(defs.ERRNO_NOSYS);
  });
});

describe("WASI clocks past 2 GiB", () => {
  it("clock_res_get, and clock_time_get of a CPU-time clock, write through a pointer past 2 GiB (a negative i32 to the import)", () => {
    // The shim wrote them with a DataView at the pointer as Wasm hands it over, signed: one past
    // 2 GiB was a negative offset, a RangeError, and EFAULT for a result inside memory.
    const { call, memory } = wasi({}, 32769);
    const high = 0x8000_0000 | 0;
    const read = () => new DataView(memory.raw.buffer).getBigUint64(0x8000_0000, true);
    expect(call("clock_res_get", defs.CLOCKID_MONOTONIC, high)).toBe(defs.ERRNO_SUCCESS);
    expect(read()).toBe(5_000n);
    expect(call("clock_res_get", defs.CLOCKID_REALTIME, high)).toBe(defs.ERRNO_SUCCESS);
    expect(read()).toBe(1_000_000n);
    new DataView(memory.raw.buffer).setBigUint64(0x8000_0000, 7n, true);
    expect(call("clock_time_get", defs.CLOCKID_PROCESS_CPUTIME_ID, 0n, high)).toBe(defs.ERRNO_SUCCESS);
    expect(read()).toBe(0n);
    // Past the end, still EFAULT.
    expect(call("clock_res_get", defs.CLOCKID_MONOTONIC, (32769 * 65536 - 4) | 0)).toBe(defs.ERRNO_FAULT);
    expect(call("clock_time_get", defs.CLOCKID_THREAD_CPUTIME_ID, 0n, (32769 * 65536 - 4) | 0)).toBe(defs.ERRNO_FAULT);
  });
});

describe("WASI output lines", () => {
  it("a line longer than MAX_LINE comes out in pieces that never split a character in two", () => {
    const lines: string[] = [];
    const out = new Lines((line) => lines.push(line));
    // One ASCII byte first: every cut at a multiple of MAX_LINE UTF-16 units then falls inside a
    // surrogate pair, and each half alone is a replacement character once encoded.
    const text = `a${"😀".repeat(MAX_LINE)}`;
    out.write(new TextEncoder().encode(`${text}\n${text}`));
    out.flush();
    expect(lines.length).toBeGreaterThan(4);
    for (const line of lines) {
      expect(line.length).toBeLessThanOrEqual(MAX_LINE);
      expect(line.isWellFormed()).toBe(true);
    }
    expect(lines.join("")).toBe(text + text);
  });
});

describe("WASI output: a character split across fd_write calls", () => {
  /**
   * A guest that can wait (a stub suspender that always can) whose reader fills on demand: after
   * `fullAfter()` says so, each line it is given while full is one the spawner would have counted
   * lost (src/services/process/child-output.ts).
   */
  function waiting() {
    const memory = new GuestMemory(new WebAssembly.Memory({ initial: 4 }));
    const lines: string[] = [];
    let full = false;
    let fillOnNext = false;
    let lost = 0;
    const made = wasiImports(
      { outputBlocked: () => full, outputReady: () => void (full = false) },
      {
        memory: () => memory,
        clock: { sleepUntil: () => new Promise<void>(() => {}), now: Date.now },
        log: (_stream, line) => {
          if (full) lost++;
          lines.push(line);
          if (fillOnNext) [full, fillOnNext] = [true, false];
        },
        suspender: { canSuspend: true, suspending: (fn: never) => fn } as never,
      },
    );
    const write = (bytes: Uint8Array): number => {
      new Uint8Array(memory.raw.buffer).set(bytes, 4096);
      const view = new DataView(memory.raw.buffer);
      view.setUint32(64, 4096, true);
      view.setUint32(68, bytes.length, true);
      expect((made.imports.fd_write as (...a: number[]) => number)(1, 64, 1, 72)).toBe(defs.ERRNO_SUCCESS);
      return view.getUint32(72, true);
    };
    return { made, lines, write, fullAfterNext: () => void (fillOnNext = true), lost: () => lost };
  }
  const utf8 = (text: string) => new TextEncoder().encode(text);
  const bytes = (...parts: (string | number[])[]) => new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? [...utf8(p)] : p)));

  it("the rest of a line after its last piece is never put out in the same step as the piece, and a step takes a byte", () => {
    // A full line's worth, then the first two bytes of "€" that never get their third: the
    // newline makes them a replacement character, one unit past MAX_LINE. Piece and rest came out
    // of one step: the rest was given to a reader already full, and counted lost.
    const w = waiting();
    expect(w.write(bytes("a".repeat(MAX_LINE), [0xe2, 0x82]))).toBe(MAX_LINE + 2);
    w.fullAfterNext();
    expect(w.write(bytes("\n", "next\n"))).toBe(1); // ends after the piece, having taken the newline
    expect(w.lost()).toBe(0);
    expect(w.write(bytes("next\n"))).toBe(5);
    expect(w.lost()).toBe(0);
    expect(w.lines.map((l) => (l.length > 10 ? l.length : l))).toEqual([MAX_LINE, "\ufffd", "next"]);
  });

  it("a character split across two writes comes out whole, at a piece's edge, around a line's end and across a snapshot", () => {
    for (const at of [MAX_LINE - 2, MAX_LINE - 1, MAX_LINE]) {
      for (const char of ["€", "😀"]) {
        const w = waiting();
        const c = utf8(char);
        expect(w.write(bytes("a".repeat(at), [...c.subarray(0, 2)]))).toBe(at + 2);
        // Restored in between: the two bytes are kept with the partial line.
        const state = JSON.parse(JSON.stringify(w.made.save()));
        const restored = waiting();
        restored.made.load(state);
        restored.fullAfterNext();
        let rest = bytes([...c.subarray(2)], "\n");
        while (rest.length) rest = rest.subarray(restored.write(rest));
        restored.made.flush();
        expect(restored.lost()).toBe(0);
        expect(restored.lines.join("")).toBe(`${"a".repeat(at)}${char}`);
        for (const line of restored.lines) expect(line.isWellFormed() && line.length <= MAX_LINE).toBe(true);
      }
    }
  });

  it("lines come out as one decoder would make them of the whole stream, however it is cut into writes", () => {
    // Valid and broken UTF-8 cut at every place: held bytes decode as the stream would.
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const pieces = [utf8("a"), utf8("é"), utf8("€"), utf8("😀"), utf8("\n"), new Uint8Array([0xf0, 0x9f]), new Uint8Array([0xe2]), new Uint8Array([0x80]), new Uint8Array([0xff])];
    for (let round = 0; round < 200; round++) {
      const stream = new Uint8Array([...Array.from({ length: 40 }, () => [...pieces[rnd(pieces.length)]!]).flat(), 10]);
      for (const canWait of [true, false]) {
        const w = waiting();
        const lines: string[] = [];
        const out = canWait ? w : undefined;
        const direct = new Lines((l) => lines.push(l));
        for (let i = 0; i < stream.length; ) {
          const n = 1 + rnd(5);
          const part = stream.subarray(i, i + n);
          if (out) {
            let rest = part;
            while (rest.length) rest = rest.subarray(out.write(rest));
          } else direct.write(part);
          i += n;
        }
        const expected = new TextDecoder().decode(stream).split("\n").slice(0, -1);
        expect(out ? out.lines : lines).toEqual(expected);
      }
    }
  });
});

describe("WASI fd_read", () => {
  it("a read of 0 bytes answers 0 at once, as read(2) does, even while stdin is open and empty", () => {
    const stdin = new Pipe();
    const { call, view } = wasi({ stdin });
    view().setUint32(64, 1024, true);
    view().setUint32(68, 0, true);
    view().setUint32(72, 0xffff, true);
    expect(call("fd_read", 0, 64, 1, 72)).toBe(defs.ERRNO_SUCCESS);
    expect(view().getUint32(72, true)).toBe(0);
    // And no byte of what comes later is consumed by it.
    stdin.write(new Uint8Array([7]));
    expect(call("fd_read", 0, 64, 0, 72)).toBe(defs.ERRNO_SUCCESS);
    expect(stdin.buffered).toBe(1);
  });
});

describe("WASI fd_prestat_get", () => {
  it("stdio is no preopened directory: EBADF, as wasmtime answers, not ENOTSUP", () => {
    const { call } = wasi();
    for (const fd of [0, 1, 2, 3]) {
      expect(call("fd_prestat_get", fd, 64), `fd_prestat_get ${fd}`).toBe(defs.ERRNO_BADF);
      expect(call("fd_prestat_dir_name", fd, 64, 16), `fd_prestat_dir_name ${fd}`).toBe(defs.ERRNO_BADF);
    }
  });
});

describe("WASI fd_filestat_set_times", () => {
  it("stdio is EINVAL, as wasmtime's preview1 adapter answers for a stream (the shim's was ENOTSUP); an fd not open EBADF", () => {
    const { call } = wasi({ tty: true });
    for (const fd of [0, 1, 2]) {
      for (const flags of [0, defs.FSTFLAGS_ATIM | defs.FSTFLAGS_MTIM_NOW, defs.FSTFLAGS_ATIM | defs.FSTFLAGS_ATIM_NOW]) {
        expect(call("fd_filestat_set_times", fd, 1_000_000_000n, 0n, flags), `fd ${fd} flags ${flags}`).toBe(defs.ERRNO_INVAL);
      }
    }
    expect(call("fd_filestat_set_times", 5, 0n, 0n, 0)).toBe(defs.ERRNO_BADF);
  });
});

describe("WASI path_* imports", () => {
  // Each import's arguments with its path(s) at `at`, `n` bytes long, on directory fd `fd`.
  const calls: Record<string, (fd: number, at: number, n: number) => (number | bigint)[]> = {
    path_create_directory: (fd, at, n) => [fd, at, n],
    path_filestat_get: (fd, at, n) => [fd, 0, at, n, 512],
    path_filestat_set_times: (fd, at, n) => [fd, 0, at, n, 0n, 0n, 0],
    path_link: (fd, at, n) => [fd, 0, at, n, fd, at, n],
    path_open: (fd, at, n) => [fd, 0, at, n, 0, 0n, 0n, 0, 512],
    path_readlink: (fd, at, n) => [fd, at, n, 512, 64, 600],
    path_remove_directory: (fd, at, n) => [fd, at, n],
    path_rename: (fd, at, n) => [fd, at, n, fd, at, n],
    path_symlink: (fd, at, n) => [at, n, fd, at, n],
    path_unlink_file: (fd, at, n) => [fd, at, n],
  };
  const answer = (name: string) => (name === "path_open" ? defs.ERRNO_NOTDIR : defs.ERRNO_NOTSUP);

  it("a path that runs past memory is EFAULT on stdio, with nothing written; a path in memory gets the answer; a closed fd EBADF", () => {
    // The shim read a path with Uint8Array.slice, which clamps (and counts a negative start from
    // the end): a wild path was read short, empty or from elsewhere, and the call went on with it.
    const { call, bytes } = wasi();
    const end = bytes().length;
    bytes().set(new TextEncoder().encode("file.txt"), 64);
    const before = bytes().slice();
    for (const [name, args] of Object.entries(calls)) {
      for (const fd of [0, 1, 2]) {
        for (const [at, n] of [[end - 4, 8], [end + 1, 0], [0x8000_0000, 1], [0xffff_fff0, 0x20], [64, 0xffff_ffff], [-8, 4]] as const) {
          expect(call(name, ...args(fd, at | 0, n | 0)), `${name} fd ${fd} path (${at}, ${n})`).toBe(defs.ERRNO_FAULT);
        }
        expect(call(name, ...args(fd, 64, 8)), `${name} fd ${fd}`).toBe(answer(name));
        // An empty path at the very end is in memory.
        expect(call(name, ...args(fd, end, 0)), `${name} fd ${fd} empty`).toBe(answer(name));
      }
      expect(call(name, ...args(7, end - 4, 8)), `${name} closed fd`).toBe(defs.ERRNO_BADF);
    }
    expect(bytes()).toEqual(before);
  });

  it("path_link, path_rename and path_symlink check both paths", () => {
    const { call, bytes } = wasi();
    const end = bytes().length;
    expect(call("path_link", 1, 0, 64, 4, 1, end - 2, 4)).toBe(defs.ERRNO_FAULT);
    expect(call("path_rename", 1, end - 2, 4, 1, 64, 4)).toBe(defs.ERRNO_FAULT);
    expect(call("path_rename", 1, 64, 4, 1, end - 2, 4)).toBe(defs.ERRNO_FAULT);
    expect(call("path_symlink", end - 2, 4, 1, 64, 4)).toBe(defs.ERRNO_FAULT);
    expect(call("path_symlink", 64, 4, 1, end - 2, 4)).toBe(defs.ERRNO_FAULT);
    // Either directory fd closed: EBADF first, as the shim answered.
    expect(call("path_link", 1, 0, end - 2, 4, 9, 64, 4)).toBe(defs.ERRNO_BADF);
    expect(call("path_rename", 9, 64, 4, 1, end - 2, 4)).toBe(defs.ERRNO_BADF);
  });
});

describe("WASI imports answer EFAULT with memory and streams untouched (WASI fuzzer)", () => {
  it("poll_oneoff with a wild nevents pointer writes no event", () => {
    const { call, view, bytes } = wasi();
    // One clock subscription, due at once: an event is ready.
    view().setBigUint64(64, 0x1234n, true);
    view().setUint8(72, defs.EVENTTYPE_CLOCK);
    view().setUint32(80, defs.CLOCKID_MONOTONIC, true);
    view().setBigUint64(88, 0n, true);
    const before = bytes().slice();
    expect(call("poll_oneoff", 64, 1024, 1, bytes().length - 2)).toBe(defs.ERRNO_FAULT);
    expect(bytes()).toEqual(before);
    expect(call("poll_oneoff", 64, 1024, 1, 256)).toBe(defs.ERRNO_SUCCESS);
    expect(view().getUint32(256, true)).toBe(1);
    expect(view().getBigUint64(1024, true)).toBe(0x1234n);
  });

  it("fd_read with a wild nread pointer takes no byte from stdin and writes none", () => {
    const stdin = new Pipe(new TextEncoder().encode("hello"));
    const { call, view, bytes } = wasi({ stdin });
    view().setUint32(64, 1024, true);
    view().setUint32(68, 16, true);
    const before = bytes().slice();
    expect(call("fd_read", 0, 64, 1, bytes().length - 3)).toBe(defs.ERRNO_FAULT);
    expect(bytes()).toEqual(before);
    expect(stdin.buffered).toBe(5);
    // The guest, told EFAULT, asks again with a good pointer: nothing was lost.
    expect(call("fd_read", 0, 64, 1, 72)).toBe(defs.ERRNO_SUCCESS);
    expect(view().getUint32(72, true)).toBe(5);
    expect(new TextDecoder().decode(bytes().subarray(1024, 1029))).toBe("hello");
  });

  it("fd_write with a wild nwritten pointer writes no line (the guest, told EFAULT, writes them again)", () => {
    const { call, view, bytes, out } = wasi();
    bytes().set(new TextEncoder().encode("one\ntwo\n"), 1024);
    view().setUint32(64, 1024, true);
    view().setUint32(68, 8, true);
    expect(call("fd_write", 1, 64, 1, bytes().length - 1)).toBe(defs.ERRNO_FAULT);
    expect(out.stdout.count).toBe(0);
    expect(call("fd_write", 1, 64, 1, 72)).toBe(defs.ERRNO_SUCCESS);
    expect(out.stdout.lines).toEqual(["one", "two"]);
  });

  it("fd_fdstat_get and fd_filestat_get with a record that runs past memory write none of it; a closed fd is still EBADF", () => {
    const { call, bytes } = wasi();
    const end = bytes().length;
    const before = bytes().slice();
    for (const fd of [0, 1, 2]) {
      expect(call("fd_fdstat_get", fd, end - 16), `fd_fdstat_get ${fd}`).toBe(defs.ERRNO_FAULT);
      expect(call("fd_filestat_get", fd, end - 40), `fd_filestat_get ${fd}`).toBe(defs.ERRNO_FAULT);
    }
    expect(bytes()).toEqual(before);
    expect(call("fd_fdstat_get", 7, end - 16)).toBe(defs.ERRNO_BADF);
    expect(call("fd_fdstat_get", 1, end - 24)).toBe(defs.ERRNO_SUCCESS);
  });
});
