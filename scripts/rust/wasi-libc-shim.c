/*
 * What Debian 12's wasi-libc (a 2022 snapshot) lacks and current Rust std or common crates
 * link against. scripts/rust/toolchain.sh compiles this with Debian's clang and adds it to the
 * sysroot's self-contained libc.a, only where that libc.a does not define these symbols itself
 * (a newer wasi-libc does; so does rustup's std).
 *
 * __errno_location: the `errno` crate (and the `libc` crate's `errno()` users: nix-style error
 * handling, rustix's libc backend, ...) reach C's errno through it. Upstream wasi-libc added it in
 * libc-bottom-half/sources/__errno_location.c, exactly this.
 */
#include <errno.h>

/* <errno.h> may define `errno` as a call to this function: reach the thread-local itself. */
#undef errno
extern _Thread_local int errno;

int *__errno_location(void) { return &errno; }
