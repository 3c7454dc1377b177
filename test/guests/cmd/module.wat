;; A command-style guest: WASI for argv and stdout, the bus for sleeping, poll() to wait.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "poll" (func $poll (result i32)))
  (memory (export "memory") 8) ;; room for an argument of a few hundred KiB at 2048
  (data (i32.const 16) "os")
  (data (i32.const 32) "time.sleep")
  (data (i32.const 48) "{\"duration_ms\":30}")
  (data (i32.const 80) "slept\n")
  (global $done (mut i32) (i32.const 0))
  (global $heap (mut i32) (i32.const 8192))

  ;; write(ptr, len) to stdout via one iovec at 0, on from a short write as libc's loop goes
  (func $print (param $ptr i32) (param $len i32)
    (block $done (loop $more
      (br_if $done (i32.eqz (local.get $len)))
      (i32.store (i32.const 0) (local.get $ptr))
      (i32.store (i32.const 4) (local.get $len))
      (br_if $done (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $ptr (i32.add (local.get $ptr) (i32.load (i32.const 8))))
      (local.set $len (i32.sub (local.get $len) (i32.load (i32.const 8))))
      (br $more))))

  (func (export "_start")
    (local $argv i32) (local $arg i32) (local $len i32)
    ;; argv pointers at 1024, strings at 2048; print argv[1] and a newline
    (drop (call $args_sizes_get (i32.const 12) (i32.const 8)))
    (drop (call $args_get (i32.const 1024) (i32.const 2048)))
    (local.set $arg (i32.load (i32.const 1028)))
    (block $end (loop $scan
      (br_if $end (i32.eqz (i32.load8_u (i32.add (local.get $arg) (local.get $len)))))
      (local.set $len (i32.add (local.get $len) (i32.const 1)))
      (br $scan)))
    (i32.store8 (i32.add (local.get $arg) (local.get $len)) (i32.const 10))
    (call $print (local.get $arg) (i32.add (local.get $len) (i32.const 1)))
    (if (call $call (i32.const 0) (call $handle) (i32.const 0) (i32.const 1)
          (i32.const 16) (i32.const 2) (i32.const 32) (i32.const 10) (i32.const 48) (i32.const 18))
      (then (call $proc_exit (i32.const 1))))
    (block $out (loop $wait
      (br_if $out (global.get $done))
      (if (call $poll) (then (call $proc_exit (i32.const 11))))
      (br $wait)))
    (call $print (i32.const 80) (i32.const 6))
    (call $proc_exit (i32.const 3)))

  (func (export "wasm_bus_malloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.add (local.get $ptr) (local.get $len)))
    (local.get $ptr))
  (func (export "wasm_bus_free") (param i32 i32))
  (func (export "wasm_bus_finish") (param i32 i32 i32 i32) (global.set $done (i32.const 1)))
  (func (export "wasm_bus_error") (param i32 i32) (call $proc_exit (i32.const 4))))
