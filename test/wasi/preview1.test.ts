// WASI preview1 as processes see it: Rust programs built with the project's toolchain
// (test/guests/wasi-probe, test/guests/errno-rs) run as processes (src/process.ts, what a
// BusProcess runs), with their exit codes and output checked. docs/host.md lists each function.
import { describe, expect, it } from "vitest";
import { withoutJspi } from "../helpers.js";
import { exited, fields, runProcess } from "./helpers.js";

const probe = (args: string[], request = {}, options = {}) => runProcess("wasi-probe", args, request, options);

// errnos (preview1 numbering)
const EAGAIN = 6;
const EBADF = 8;
const EFAULT = 21;
const EINVAL = 28;
const ENOSYS = 52;
const ENOTDIR = 54;
const ENOTSOCK = 57;
const ESPIPE = 70;

describe("WASI preview1: every function answers with an errno, none traps", () => {
  it("sockets: ENOTSOCK on stdio, EBADF on an fd that is not open", async () => {
    const ran = await probe(["sock"]);
    exited(ran);
    const bits = (e: number) => `recv=${e} send=${e} shutdown=${e} accept=${e}`;
    expect(ran.stdout).toEqual([`fd0 ${bits(ENOTSOCK)}`, `fd1 ${bits(ENOTSOCK)}`, `fd2 ${bits(ENOTSOCK)}`, `fd42 ${bits(EBADF)}`, "done"]);
  });

  it("what threw or was wrong in browser_wasi_shim, and wild pointers: errnos", async () => {
    const ran = await probe(["errnos"], { stdin: "" });
    exited(ran);
    expect(fields(ran.stdout)).toEqual({
      proc_raise: String(ENOSYS),
      sched_yield: "0",
      fdstat_wild: String(EFAULT),
      write_wild: String(EFAULT),
      read_wild: String(EFAULT),
      poll_wild: String(EFAULT),
      poll_none: String(EINVAL),
      random_wild: String(EFAULT),
      clock_wild: String(EFAULT),
      prestat3: String(EBADF),
      path_open_stdout: String(ENOTDIR),
      write_closed: String(EBADF),
      seek_stdout: String(ESPIPE),
      read_stdout: String(EBADF),
    });
    expect(ran.stdout.at(-1)).toBe("done");
  });

  it("the calls for files and directories on stdio answer as Linux does for a pipe, and write no out-pointer", async () => {
    // Linux (and wasmtime's preview1 adapter, for a stream): posix_fadvise, fallocate, lseek,
    // pread and pwrite ESPIPE; fsync, fdatasync and ftruncate EINVAL; getdents ENOTDIR. The shim
    // said success for advise and the syncs, ENOTSUP for readdir and set_size, and wrote seek's
    // offset and pread's nread though they failed.
    const stdio = `advise=${ESPIPE} allocate=${ESPIPE} sync=${EINVAL} datasync=${EINVAL} readdir=${ENOTDIR} set_size=${EINVAL} seek=${ESPIPE} tell=${ESPIPE} pread=${ESPIPE} pwrite=${ESPIPE} untouched=true`;
    const closed = `advise=${EBADF} allocate=${EBADF} sync=${EBADF} datasync=${EBADF} readdir=${EBADF} set_size=${EBADF} seek=${EBADF} tell=${EBADF} pread=${EBADF} pwrite=${EBADF} untouched=true`;
    for (const tty of [false, true]) {
      const ran = await probe(["fdops"], { tty });
      exited(ran);
      expect(ran.stdout).toEqual([`fd0 ${stdio}`, `fd1 ${stdio}`, `fd2 ${stdio}`, `fd42 ${closed}`]);
    }
  });

  it("an fdstat or filestat that runs past the end of memory is EFAULT with nothing of it written; a whole one is every byte", async () => {
    const ran = await probe(["edges"], { stdin: "abc" });
    exited(ran);
    const got = fields(ran.stdout);
    // The shim wrote an fdstat's first fields (a filestat's first 32 bytes) before failing, and a
    // whole filestat's times at 38, 46 and 52: bytes 60-63 stayed as they were.
    const { fdstat, fdstat_kept, filestat, filestat_kept, filestat_whole, filestat_zeros } = got;
    expect({ fdstat, fdstat_kept, filestat, filestat_kept, filestat_whole, filestat_zeros }).toEqual({
      fdstat: String(EFAULT),
      fdstat_kept: "true",
      filestat: String(EFAULT),
      filestat_kept: "true",
      filestat_whole: "0",
      filestat_zeros: "true",
    });
  });

  it("a count that runs past the end of memory (nread, nwritten, nevents) is EFAULT before anything is taken, written out or reported", async () => {
    const ran = await probe(["edges"], { stdin: "abc" });
    exited(ran);
    const { read, again, got, write, poll, events_kept } = fields(ran.stdout);
    // stdin was consumed (and lost) before nread failed; the line went out before nwritten failed
    // (the guest would write it again); the events were written before nevents failed.
    expect({ read, again, got, write, poll, events_kept }).toEqual({ read: String(EFAULT), again: "0", got: "abc", write: String(EFAULT), poll: String(EFAULT), events_kept: "true" });
    expect(ran.stdout.filter((l) => l.includes("never written"))).toEqual([]);
  });

  it("fds follow fd_renumber and fd_close", async () => {
    const ran = await probe(["renumber"]);
    exited(ran);
    expect(ran.stdout).toEqual(["before"]);
    expect(ran.stderr).toEqual(["to stderr through fd 1"]);
  });

  it("random_get fills large buffers", async () => {
    const ran = await probe(["random"]);
    exited(ran);
    expect(ran.stdout).toEqual(["random r=0 varied=true"]);
  });

  it("args and env as given", async () => {
    const ran = await runProcess("wasi-probe", ["env", "a b", "ü"], { stdinOpen: false });
    exited(ran);
    expect(ran.stdout[0]).toBe('args=["a b", "ü"]');
    expect(ran.stdout[1]).toBe("env=[]");
  });

  it("args that are not ASCII arrive whole: argv is sized in bytes, not UTF-16 units", async () => {
    // Sized by string length, the buffer wasi-libc allocates was short by 2 bytes a "€", and
    // args_get wrote the rest over the heap after it.
    const long = "€".repeat(500);
    const ran = await runProcess("wasi-probe", ["env", long, "😀x"]);
    exited(ran);
    expect(ran.stdout[0]).toBe(`args=[${JSON.stringify(long)}, "😀x"]`);
  });

  it("exit codes: proc_exit's, 0 when main returns, 2 for a usage error", async () => {
    exited(await probe(["exit", "7"]), 7);
    exited(await probe(["exit", "0"]), 0);
    const usage = await probe(["nope"]);
    exited(usage, 2);
    expect(usage.stderr[0]).toMatch(/^usage: wasi-probe/);
  });
});

describe("WASI preview1: stdio are pipes unless the process asks for a terminal", () => {
  it("pipes: filetype unknown (not a character device), isatty false", async () => {
    const ran = await probe(["stdio"]);
    exited(ran);
    expect(ran.stdout).toEqual([
      "fd0 fdstat=type0:read1:write0:seek0 filestat=type0",
      "fd1 fdstat=type0:read0:write1:seek0 filestat=type0",
      "fd2 fdstat=type0:read0:write1:seek0 filestat=type0",
      "terminal stdin=false stdout=false stderr=false",
    ]);
  });

  it('"tty": true: character devices without seek rights, isatty true', async () => {
    const ran = await probe(["stdio"], { tty: true });
    exited(ran);
    expect(ran.stdout).toEqual([
      "fd0 fdstat=type2:read1:write0:seek0 filestat=type2",
      "fd1 fdstat=type2:read0:write1:seek0 filestat=type2",
      "fd2 fdstat=type2:read0:write1:seek0 filestat=type2",
      "terminal stdin=true stdout=true stderr=true",
    ]);
  });
});

describe("WASI preview1: stdin", () => {
  it("the stdin of a spawn request is the whole input: a filter reads to its end and exits", async () => {
    const ran = await probe(["cat"], { stdin: "one\ntwo\nthree\n" });
    exited(ran);
    expect(ran.stdout).toEqual(["read 14 bytes, 3 lines", "> one", "> two", "> three"]);
  });

  it('"stdinOpen": true keeps it open for more, until closed', async () => {
    const ran = await probe(["upcase"], { stdin: "first\n", stdinOpen: true }, {
      feed: async (p: import("../../src/process.js").Process) => {
        await new Promise((r) => setTimeout(r, 30));
        p.stdin.write(new TextEncoder().encode("second\n"));
        await new Promise((r) => setTimeout(r, 30));
        p.stdin.close();
      },
    });
    exited(ran);
    expect(ran.stdout).toEqual(["FIRST", "SECOND"]);
  });

  it("a non-blocking stdin answers EAGAIN while empty", async () => {
    const ran = await probe(["nonblock"], { stdin: "", stdinOpen: true }, { feed: (p: import("../../src/process.js").Process) => setTimeout(() => p.stdin.close(), 10) });
    exited(ran);
    expect(ran.stdout).toEqual([`set_flags=0 read=${EAGAIN} fdstat=type0:read1:write0:seek0`]);
  });

  it("writes past limits.stdinBytes to a process that never reads are refused (LimitExceeded), not buffered", async () => {
    const ran = await probe(["sleep", "200"], { stdin: "x", stdinOpen: true }, {
      feed: (p: import("../../src/process.js").Process) => {
        const chunk = new Uint8Array(256 * 1024);
        let written = 0;
        let refused: unknown;
        for (let i = 0; i < 40 && !refused; i++) {
          try {
            p.stdin.write(chunk);
            written += chunk.length;
          } catch (err) {
            refused = err;
          }
        }
        expect(refused).toMatchObject({ codeName: "LimitExceeded" });
        expect(String((refused as Error).message)).toMatch(/stdinBytes/);
        expect(written).toBeLessThanOrEqual(1024 * 1024);
        expect(p.stdin.buffered).toBeLessThanOrEqual(1024 * 1024);
      },
    });
    exited(ran);
  });
});

describe("WASI preview1: poll_oneoff with clocks, stdin and stdout together", () => {
  it("ready at once: stdout and stderr writable, an fd not open and a wrong direction EBADF; stdin and a clock as they come", async () => {
    const ran = await probe(["poll", "40"], { stdin: "abc" });
    exited(ran);
    // stdin holds 3 bytes (then its end): readable at once, as are stdout and stderr.
    expect(ran.stdout[0]).toBe(`all r=0 events=2:read:err0:n3,3:write:err0:n1,4:write:err0:n1,5:read:err${EBADF},6:write:err${EBADF}`);
    expect(ran.stdout[1]).toBe("clock+stdin r=0 events=2:read:err0:n3 waited=false");
  });

  it("a clock and an empty stdin: the clock fires first", async () => {
    const ran = await probe(["poll", "40"], { stdin: "", stdinOpen: true }, { feed: (p: import("../../src/process.js").Process) => setTimeout(() => p.stdin.close(), 500) });
    exited(ran);
    expect(ran.stdout[0]).toBe(`all r=0 events=3:write:err0:n1,4:write:err0:n1,5:read:err${EBADF},6:write:err${EBADF}`);
    expect(ran.stdout[1]).toBe("clock+stdin r=0 events=1:clock:err0 waited=true");
  });

  it("the end of input is ready, with a hangup", async () => {
    const ran = await probe(["poll", "40"], { stdin: "" });
    exited(ran);
    expect(ran.stdout[1]).toBe("clock+stdin r=0 events=2:read:err0:n0:hup waited=false");
  });

  it("waits for input with a timeout: ticks until input comes, then the input, then the end", async () => {
    const ran = await probe(["wait-input", "20"], { stdin: "", stdinOpen: true }, {
      feed: async (p: import("../../src/process.js").Process) => {
        await new Promise((r) => setTimeout(r, 120));
        p.stdin.write(new TextEncoder().encode("hello\n"));
        await new Promise((r) => setTimeout(r, 60));
        p.stdin.close();
      },
    });
    exited(ran);
    expect(ran.stdout[0]).toBe("tick");
    expect(ran.stdout[1]).toBe('input "hello"');
    expect(ran.stdout[2]).toMatch(/^eof after \d+ ticks$/);
    expect(Number(/(\d+) ticks/.exec(ran.stdout[2]!)![1])).toBeGreaterThanOrEqual(4);
  });

  it("std::thread::sleep: one clock, nevents written", async () => {
    const started = Date.now();
    const ran = await probe(["sleep", "30"]);
    exited(ran);
    expect(ran.stdout).toEqual(["slept true"]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(30);
  });

  it("with JSPI hidden the same: the build asyncified the probe, so it waits for input and sleeps without it", async () => {
    const ready = await withoutJspi(() => probe(["poll", "40"], { stdin: "abc" }));
    exited(ready);
    expect(ready.stdout[1]).toBe("clock+stdin r=0 events=2:read:err0:n3 waited=false");
    const waiting = await withoutJspi(() =>
      probe(["wait-input", "20"], { stdin: "", stdinOpen: true }, {
        feed: async (p: import("../../src/process.js").Process) => {
          await new Promise((r) => setTimeout(r, 80));
          p.stdin.write(new TextEncoder().encode("hi\n"));
          p.stdin.close();
        },
      }),
    );
    exited(waiting);
    expect(waiting.stdout.slice(0, 2)).toEqual(["tick", 'input "hi"']);
    expect(waiting.stdout[2]).toMatch(/^eof after \d+ ticks$/);
    const slept = await withoutJspi(() => probe(["sleep", "30"], {}));
    exited(slept);
    expect(slept.stdout).toEqual(["slept true"]);
  });
});

describe("WASI preview1: output", () => {
  it("a process printing 20,000 lines, one fd_write each: every line, in order", async () => {
    const ran = await probe(["print", "20000"]);
    exited(ran);
    expect(ran.stdout.length).toBe(20000);
    expect(ran.stdout[0]).toBe("line 0");
    expect(ran.stdout.every((l, i) => l === `line ${i}`)).toBe(true);
  });
});
