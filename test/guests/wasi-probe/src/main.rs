//! `wasi-probe <probe> [args]`: one WASI preview1 behaviour per probe, printed as `name=value`
//! lines that test/wasi/*.test.ts compare. Raw calls go straight to the host's imports (the
//! declarations below match preview1's core signatures, as std's own do); the rest is plain std.
use std::io::{BufRead, IsTerminal, Read, Write};
use std::time::{Duration, Instant};

#[repr(C)]
struct Iovec {
    buf: *const u8,
    len: usize,
}

#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
    #[link_name = "sock_recv"]
    fn raw_sock_recv(fd: i32, ri_data: i32, ri_data_len: i32, ri_flags: i32, ro_datalen: i32, ro_flags: i32) -> i32;
    #[link_name = "sock_send"]
    fn raw_sock_send(fd: i32, si_data: i32, si_data_len: i32, si_flags: i32, so_datalen: i32) -> i32;
    #[link_name = "sock_shutdown"]
    fn raw_sock_shutdown(fd: i32, how: i32) -> i32;
    #[link_name = "sock_accept"]
    fn raw_sock_accept(fd: i32, flags: i32, ro_fd: i32) -> i32;
    #[link_name = "proc_raise"]
    fn raw_proc_raise(sig: i32) -> i32;
    #[link_name = "sched_yield"]
    fn raw_sched_yield() -> i32;
    #[link_name = "fd_fdstat_get"]
    fn raw_fd_fdstat_get(fd: i32, buf: i32) -> i32;
    #[link_name = "fd_fdstat_set_flags"]
    fn raw_fd_fdstat_set_flags(fd: i32, flags: i32) -> i32;
    #[link_name = "fd_filestat_get"]
    fn raw_fd_filestat_get(fd: i32, buf: i32) -> i32;
    #[link_name = "fd_seek"]
    fn raw_fd_seek(fd: i32, offset: i64, whence: i32, newoffset: i32) -> i32;
    #[link_name = "fd_read"]
    fn raw_fd_read(fd: i32, iovs: i32, iovs_len: i32, nread: i32) -> i32;
    #[link_name = "fd_write"]
    fn raw_fd_write(fd: i32, iovs: i32, iovs_len: i32, nwritten: i32) -> i32;
    #[link_name = "fd_close"]
    fn raw_fd_close(fd: i32) -> i32;
    #[link_name = "fd_renumber"]
    fn raw_fd_renumber(from: i32, to: i32) -> i32;
    #[link_name = "fd_prestat_get"]
    fn raw_fd_prestat_get(fd: i32, buf: i32) -> i32;
    #[link_name = "path_open"]
    fn raw_path_open(fd: i32, dirflags: i32, path: i32, path_len: i32, oflags: i32, base: i64, inheriting: i64, fdflags: i32, opened: i32) -> i32;
    #[link_name = "poll_oneoff"]
    fn raw_poll_oneoff(subs: i32, events: i32, nsubs: i32, nevents: i32) -> i32;
    #[link_name = "random_get"]
    fn raw_random_get(buf: i32, len: i32) -> i32;
    #[link_name = "clock_time_get"]
    fn raw_clock_time_get(id: i32, precision: i64, time: i32) -> i32;
    #[link_name = "fd_advise"]
    fn raw_fd_advise(fd: i32, offset: i64, len: i64, advice: i32) -> i32;
    #[link_name = "fd_allocate"]
    fn raw_fd_allocate(fd: i32, offset: i64, len: i64) -> i32;
    #[link_name = "fd_sync"]
    fn raw_fd_sync(fd: i32) -> i32;
    #[link_name = "fd_datasync"]
    fn raw_fd_datasync(fd: i32) -> i32;
    #[link_name = "fd_readdir"]
    fn raw_fd_readdir(fd: i32, buf: i32, buf_len: i32, cookie: i64, bufused: i32) -> i32;
    #[link_name = "fd_filestat_set_size"]
    fn raw_fd_filestat_set_size(fd: i32, size: i64) -> i32;
    #[link_name = "fd_tell"]
    fn raw_fd_tell(fd: i32, offset: i32) -> i32;
    #[link_name = "fd_pread"]
    fn raw_fd_pread(fd: i32, iovs: i32, iovs_len: i32, offset: i64, nread: i32) -> i32;
    #[link_name = "fd_pwrite"]
    fn raw_fd_pwrite(fd: i32, iovs: i32, iovs_len: i32, offset: i64, nwritten: i32) -> i32;
}

const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const EVENTTYPE_FD_WRITE: u8 = 2;
/// An address far past any memory this guest has: the host answers EFAULT.
const WILD: i32 = 0x7fff_fff0;

fn ptr<T>(p: *const T) -> i32 {
    p as usize as i32
}

/// A preview1 subscription: 48 bytes.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
struct Subscription([u8; 48]);

impl Subscription {
    fn clock(userdata: u64, ns: u64) -> Self {
        let mut s = [0u8; 48];
        s[0..8].copy_from_slice(&userdata.to_le_bytes());
        s[8] = EVENTTYPE_CLOCK;
        s[16..20].copy_from_slice(&1u32.to_le_bytes()); // monotonic
        s[24..32].copy_from_slice(&ns.to_le_bytes());
        Subscription(s)
    }
    fn fd(userdata: u64, kind: u8, fd: u32) -> Self {
        let mut s = [0u8; 48];
        s[0..8].copy_from_slice(&userdata.to_le_bytes());
        s[8] = kind;
        s[16..20].copy_from_slice(&fd.to_le_bytes());
        Subscription(s)
    }
}

/// A preview1 event: 32 bytes.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
struct Event([u8; 32]);

impl Event {
    fn userdata(&self) -> u64 {
        u64::from_le_bytes(self.0[0..8].try_into().unwrap())
    }
    fn error(&self) -> u16 {
        u16::from_le_bytes(self.0[8..10].try_into().unwrap())
    }
    fn kind(&self) -> u8 {
        self.0[10]
    }
    fn nbytes(&self) -> u64 {
        u64::from_le_bytes(self.0[16..24].try_into().unwrap())
    }
    fn hangup(&self) -> bool {
        u16::from_le_bytes(self.0[24..26].try_into().unwrap()) & 1 != 0
    }
}

/// poll_oneoff over `subs`: its errno and the events it reported.
fn poll(subs: &[Subscription]) -> (i32, Vec<Event>) {
    let mut events = vec![Event([0; 32]); subs.len()];
    let mut n: u32 = 0;
    let r = unsafe { raw_poll_oneoff(ptr(subs.as_ptr()), ptr(events.as_mut_ptr()), subs.len() as i32, ptr(&mut n)) };
    events.truncate(if r == 0 { n as usize } else { 0 });
    (r, events)
}

fn describe(e: &Event) -> String {
    let kind = match e.kind() {
        EVENTTYPE_CLOCK => "clock",
        EVENTTYPE_FD_READ => "read",
        EVENTTYPE_FD_WRITE => "write",
        _ => "?",
    };
    let mut s = format!("{}:{}:err{}", e.userdata(), kind, e.error());
    if e.kind() != EVENTTYPE_CLOCK && e.error() == 0 {
        s += &format!(":n{}", if e.kind() == EVENTTYPE_FD_WRITE { 1 } else { e.nbytes() });
        if e.hangup() {
            s += ":hup";
        }
    }
    s
}

fn events(list: &[Event]) -> String {
    let mut v: Vec<String> = list.iter().map(describe).collect();
    v.sort();
    v.join(",")
}

fn fdstat(fd: i32) -> String {
    let mut buf = [0u64; 3];
    let r = unsafe { raw_fd_fdstat_get(fd, ptr(buf.as_mut_ptr())) };
    if r != 0 {
        return format!("errno{r}");
    }
    let filetype = buf[0] as u8;
    let rights = buf[1];
    format!("type{filetype}:read{}:write{}:seek{}", (rights >> 1) & 1, (rights >> 6) & 1, (rights >> 2) & 1)
}

fn filestat_type(fd: i32) -> String {
    let mut buf = [0u64; 8];
    let r = unsafe { raw_fd_filestat_get(fd, ptr(buf.as_mut_ptr())) };
    if r != 0 {
        return format!("errno{r}");
    }
    format!("type{}", buf[2] as u8)
}

/// The last `n` bytes of memory, set to 0xee while `f` runs (which may not allocate: they may be
/// the heap's), then put back: whether `f` left them as they were, and what it answered.
fn at_end(n: usize, f: impl FnOnce(i32) -> i32) -> (i32, bool) {
    let end = core::arch::wasm32::memory_size(0) * 65536;
    let p = (end - n) as *mut u8;
    let mut saved = [0u8; 64];
    unsafe {
        core::ptr::copy_nonoverlapping(p, saved.as_mut_ptr(), n);
        core::ptr::write_bytes(p, 0xee, n);
        let r = f(p as usize as i32);
        let untouched = (0..n).all(|i| *p.add(i) == 0xee);
        core::ptr::copy_nonoverlapping(saved.as_ptr(), p, n);
        (r, untouched)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let probe = args.get(1).map(String::as_str).unwrap_or("");
    let arg = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    match probe {
        // Every socket call: ENOTSOCK (57) on stdio, EBADF (8) on an fd that is not open.
        "sock" => unsafe {
            let mut word = [0u32; 4];
            let w = ptr(word.as_mut_ptr());
            for fd in [0, 1, 2, 42] {
                println!(
                    "fd{fd} recv={} send={} shutdown={} accept={}",
                    raw_sock_recv(fd, w, 0, 0, w, w + 4),
                    raw_sock_send(fd, w, 0, 0, w),
                    raw_sock_shutdown(fd, 2),
                    raw_sock_accept(fd, 0, w),
                );
            }
            // std's TcpStream over a socket fd a host might have preopened: here none is.
            println!("done");
        },
        // Functions browser_wasi_shim throws from or got wrong, and bad pointers: errnos, no trap.
        "errnos" => unsafe {
            println!("proc_raise={}", raw_proc_raise(2));
            println!("sched_yield={}", raw_sched_yield());
            println!("fdstat_wild={}", raw_fd_fdstat_get(1, WILD));
            let iov = Iovec { buf: WILD as usize as *const u8, len: 16 };
            let mut n = 0u32;
            println!("write_wild={}", raw_fd_write(1, ptr(&iov), 1, ptr(&mut n)));
            println!("read_wild={}", raw_fd_read(0, ptr(&iov), 1, ptr(&mut n)));
            println!("poll_wild={}", raw_poll_oneoff(WILD, WILD, 3, ptr(&mut n)));
            println!("poll_none={}", raw_poll_oneoff(0, 0, 0, ptr(&mut n)));
            println!("random_wild={}", raw_random_get(WILD, 64));
            println!("clock_wild={}", raw_clock_time_get(0, 1, WILD));
            println!("prestat3={}", raw_fd_prestat_get(3, ptr(&mut n)));
            let path = b"x";
            println!("path_open_stdout={}", raw_path_open(1, 0, ptr(path.as_ptr()), 1, 0, 0, 0, 0, ptr(&mut n)));
            println!("write_closed={}", {
                let msg = b"never\n";
                let iov = Iovec { buf: msg.as_ptr(), len: msg.len() };
                raw_fd_write(9, ptr(&iov), 1, ptr(&mut n))
            });
            println!("seek_stdout={}", raw_fd_seek(1, 0, 0, ptr(&mut n)));
            println!("read_stdout={}", raw_fd_read(1, ptr(&iov), 1, ptr(&mut n)));
            println!("done");
        },
        // The fd calls for files and directories on stdio (and an fd not open): their errnos, and
        // whether an out-pointer they were given was left alone.
        "fdops" => unsafe {
            for fd in [0, 1, 2, 42] {
                let mut out = [0xeeu8; 16];
                let o = ptr(out.as_mut_ptr());
                let mut buf = [0u8; 16];
                let iov = Iovec { buf: buf.as_mut_ptr(), len: buf.len() };
                println!(
                    "fd{fd} advise={} allocate={} sync={} datasync={} readdir={} set_size={} seek={} tell={} pread={} pwrite={} untouched={}",
                    raw_fd_advise(fd, 0, 0, 0),
                    raw_fd_allocate(fd, 0, 1),
                    raw_fd_sync(fd),
                    raw_fd_datasync(fd),
                    raw_fd_readdir(fd, o, 0, 0, o + 8),
                    raw_fd_filestat_set_size(fd, 0),
                    raw_fd_seek(fd, 0, 1, o),
                    raw_fd_tell(fd, o),
                    raw_fd_pread(fd, ptr(&iov), 1, 0, o + 8),
                    raw_fd_pwrite(fd, ptr(&iov), 1, 0, o + 8),
                    out.iter().all(|&b| b == 0xee),
                );
            }
        },
        // Results that run past the end of memory: EFAULT, and nothing done or written in part.
        "edges" => unsafe {
            let (fdstat, fdstat_kept) = at_end(8, |p| raw_fd_fdstat_get(1, p));
            let (filestat, filestat_kept) = at_end(32, |p| raw_fd_filestat_get(1, p));
            // A whole filestat: every byte but ino and filetype 0, none left as it was.
            let mut stat = [0xffu8; 64];
            let whole = raw_fd_filestat_get(1, ptr(stat.as_mut_ptr()));
            let zeros = stat.iter().enumerate().all(|(i, &b)| (8..17).contains(&i) || b == 0);
            // stdin holds "abc": a read whose nread is past memory takes none of it.
            let mut buf = [0u8; 8];
            let iov = Iovec { buf: buf.as_mut_ptr(), len: buf.len() };
            let (read, _) = at_end(2, |p| raw_fd_read(0, ptr(&iov), 1, p));
            let mut n = 0u32;
            let again = raw_fd_read(0, ptr(&iov), 1, ptr(&mut n));
            let got = String::from_utf8_lossy(&buf[..n as usize]).into_owned();
            // A write whose nwritten is past memory writes nothing.
            let msg = b"never written\n";
            let wiov = Iovec { buf: msg.as_ptr(), len: msg.len() };
            let (write, _) = at_end(2, |p| raw_fd_write(1, ptr(&wiov), 1, p));
            // A poll whose nevents is past memory: no event written.
            let subs = [Subscription::fd(7, EVENTTYPE_FD_WRITE, 1)];
            let mut events = [Event([0xee; 32]); 1];
            let (poll, _) = at_end(2, |p| raw_poll_oneoff(ptr(subs.as_ptr()), ptr(events.as_mut_ptr()), 1, p));
            let events_kept = events[0].0.iter().all(|&b| b == 0xee);
            println!("fdstat={fdstat} fdstat_kept={fdstat_kept} filestat={filestat} filestat_kept={filestat_kept}");
            println!("filestat_whole={whole} filestat_zeros={zeros}");
            println!("read={read} again={again} got={got}");
            println!("write={write}");
            println!("poll={poll} events_kept={events_kept}");
        },
        // What stdio are: pipes, or a terminal where the process asked for one.
        "stdio" => {
            for fd in 0..3 {
                println!("fd{fd} fdstat={} filestat={}", fdstat(fd), filestat_type(fd));
            }
            println!(
                "terminal stdin={} stdout={} stderr={}",
                std::io::stdin().is_terminal(),
                std::io::stdout().is_terminal(),
                std::io::stderr().is_terminal()
            );
        }
        // stderr renumbered onto stdout's fd, then that closed: writes follow the fds. Nothing is
        // left to print the results on, so the exit code says whether all matched.
        "renumber" => unsafe {
            let msg = b"to stderr through fd 1\n";
            let iov = Iovec { buf: msg.as_ptr(), len: msg.len() };
            let mut n = 0u32;
            println!("before");
            std::io::stdout().flush().unwrap();
            let r = raw_fd_renumber(2, 1);
            let w = raw_fd_write(1, ptr(&iov), 1, ptr(&mut n));
            let w2 = raw_fd_write(2, ptr(&iov), 1, ptr(&mut n));
            let c = raw_fd_close(1);
            let w3 = raw_fd_write(1, ptr(&iov), 1, ptr(&mut n));
            std::process::exit(if r == 0 && w == 0 && w2 == 8 && c == 0 && w3 == 8 { 0 } else { 1 });
        },
        // poll_oneoff with every kind at once: stdout/stderr writable now, stdin as it is, a clock.
        "poll" => {
            let ms = arg(2, 50);
            let subs = [
                Subscription::clock(1, ms * 1_000_000),
                Subscription::fd(2, EVENTTYPE_FD_READ, 0),
                Subscription::fd(3, EVENTTYPE_FD_WRITE, 1),
                Subscription::fd(4, EVENTTYPE_FD_WRITE, 2),
                Subscription::fd(5, EVENTTYPE_FD_READ, 42),
                Subscription::fd(6, EVENTTYPE_FD_WRITE, 0),
            ];
            let (r, ev) = poll(&subs);
            println!("all r={r} events={}", events(&ev));
            let start = Instant::now();
            let (r, ev) = poll(&subs[..2]);
            println!("clock+stdin r={r} events={} waited={}", events(&ev), start.elapsed() >= Duration::from_millis(ms));
        }
        // Waits for input with a timeout, as interactive programs do: a tick per timeout, the
        // input as it comes, end of input (hangup) ends it.
        "wait-input" => {
            let ms = arg(2, 50);
            let max_ticks = arg(3, 100);
            let mut ticks = 0;
            let stdin = std::io::stdin();
            loop {
                let (r, ev) = poll(&[Subscription::clock(1, ms * 1_000_000), Subscription::fd(2, EVENTTYPE_FD_READ, 0)]);
                if r != 0 {
                    println!("poll errno {r}");
                    std::process::exit(3);
                }
                if ev.iter().any(|e| e.userdata() == 2) {
                    let mut buf = [0u8; 4096];
                    let n = stdin.lock().read(&mut buf).unwrap();
                    if n == 0 {
                        println!("eof after {ticks} ticks");
                        return;
                    }
                    println!("input {:?}", String::from_utf8_lossy(&buf[..n]).trim_end());
                } else {
                    ticks += 1;
                    if ticks >= max_ticks {
                        println!("gave up after {ticks} ticks");
                        std::process::exit(4);
                    }
                    if ticks == 1 {
                        println!("tick");
                    }
                }
            }
        }
        // std::thread::sleep: one clock subscription; std checks nevents and the event.
        "sleep" => {
            let ms = arg(2, 30);
            let start = Instant::now();
            std::thread::sleep(Duration::from_millis(ms));
            println!("slept {}", start.elapsed() >= Duration::from_millis(ms));
        }
        // stdin to its end, as a filter reads it.
        "cat" => {
            let mut all = String::new();
            std::io::stdin().read_to_string(&mut all).unwrap();
            println!("read {} bytes, {} lines", all.len(), all.lines().count());
            for line in all.lines().take(3) {
                println!("> {line}");
            }
        }
        // Line by line, upper-cased, until the end of input.
        "upcase" => {
            for line in std::io::stdin().lock().lines() {
                println!("{}", line.unwrap().to_uppercase());
            }
        }
        // Line by line, upper-cased and numbered from 1, until the end of input: the count lives
        // only in the guest's memory (and the lines read ahead in std's buffer), so a restore
        // from a snapshot older than the output numbers the lines wrong (test/node/crash.test.ts).
        "number" => {
            for (n, line) in std::io::stdin().lock().lines().enumerate() {
                println!("{} {}", n + 1, line.unwrap().to_uppercase());
            }
        }
        // A non-blocking stdin: EAGAIN (6) instead of a wait while nothing is there.
        "nonblock" => unsafe {
            let set = raw_fd_fdstat_set_flags(0, 4);
            let mut buf = [0u8; 16];
            let iov = Iovec { buf: buf.as_mut_ptr(), len: buf.len() };
            let mut n = 0u32;
            let r = raw_fd_read(0, ptr(&iov), 1, ptr(&mut n));
            println!("set_flags={set} read={r} fdstat={}", fdstat(0));
        },
        // Output at volume: N lines, one fd_write each (std's stdout is line-buffered); with
        // `wait`, only once stdin has ended (a client attaches first, then closes stdin).
        "print" => {
            let n = arg(2, 10);
            if args.get(3).map(String::as_str) == Some("wait") {
                std::io::stdin().read_to_end(&mut Vec::new()).unwrap();
            }
            let out = std::io::stdout();
            let mut out = out.lock();
            for i in 0..n {
                writeln!(out, "line {i}").unwrap();
            }
        }
        "random" => {
            let mut a = [0u8; 100_000];
            let r = unsafe { raw_random_get(ptr(a.as_mut_ptr()), a.len() as i32) };
            let zeros = a.iter().filter(|&&b| b == 0).count();
            println!("random r={r} varied={}", zeros < 2000);
        }
        "env" => {
            println!("args={:?}", &args[2..]);
            let mut vars: Vec<(String, String)> = std::env::vars().collect();
            vars.sort();
            println!("env={vars:?}");
        }
        "exit" => std::process::exit(arg(2, 0) as i32),
        _ => {
            eprintln!("usage: wasi-probe sock|errnos|fdops|edges|stdio|renumber|poll|wait-input|sleep|cat|upcase|nonblock|print|random|env|exit");
            std::process::exit(2);
        }
    }
}
