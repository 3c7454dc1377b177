//! Reads and writes C's errno through the `errno` crate, as crates built on it do. The crate
//! imports wasi-libc's `__errno_location`, which Debian 12's wasi-libc lacks: without the
//! toolchain's shim this module does not link.
use errno::{errno, set_errno, Errno};

fn main() {
    set_errno(Errno(0));
    let before = errno().0;
    set_errno(Errno(42));
    let after = errno().0;
    // A failing libc call sets errno for real: closing an fd that is not open is EBADF (8).
    extern "C" {
        fn close(fd: i32) -> i32;
    }
    let closed = unsafe { close(1234) };
    let ebadf = errno();
    println!("errno: before={before} after={after} close={closed} errno={} ({ebadf})", ebadf.0);
    std::process::exit(if before == 0 && after == 42 && closed == -1 && ebadf.0 == 8 { 0 } else { 1 });
}
