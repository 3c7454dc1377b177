;; countdown N [MS]: prints N, N-1, ... 1 (one per line), sleeping MS (default
;; 100) milliseconds through the bus (os time.sleep) between lines, then exits 0.
;; A bad argument prints a usage line on stderr and exits 2.
;;
;; It waits the portable way: _start prints the first line, starts a sleep and
;; returns to the host; each wasm_bus_finish prints the next line and starts the
;; next sleep. The host keeps the process alive while a call is in flight.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)

  (data (i32.const 64) "os")                                ;; 2
  (data (i32.const 80) "time.sleep")                        ;; 10
  (data (i32.const 96) "{\"duration_ms\":")                ;; 15, then digits and "}"
  (data (i32.const 128) "usage: countdown N [MS] (whole numbers, N >= 1)\n") ;; 48
  (data (i32.const 192) "countdown: the sleep failed\n")    ;; 28

  (global $n (mut i32) (i32.const 0))
  ;; length of the sleep request built at 96
  (global $request_len (mut i32) (i32.const 0))
  (global $heap (mut i32) (i32.const 16384))

  ;; writes len bytes at ptr to fd (1 stdout, 2 stderr) through one iovec at 0
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))

  ;; writes n's decimal digits at $to; returns how many (they are built backwards at 600)
  (func $itoa (param $n i32) (param $to i32) (result i32)
    (local $at i32)
    (local.set $at (i32.const 600))
    (loop $digit
      (local.set $at (i32.sub (local.get $at) (i32.const 1)))
      (i32.store8 (local.get $at) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digit (local.get $n)))
    (memory.copy (local.get $to) (local.get $at) (i32.sub (i32.const 600) (local.get $at)))
    (i32.sub (i32.const 600) (local.get $at)))

  ;; prints n and a newline
  (func $print (param $n i32)
    (local $len i32)
    (local.set $len (call $itoa (local.get $n) (i32.const 640)))
    (i32.store8 (i32.add (i32.const 640) (local.get $len)) (i32.const 10))
    (call $write (i32.const 1) (i32.const 640) (i32.add (local.get $len) (i32.const 1))))

  (func $usage
    (call $write (i32.const 2) (i32.const 128) (i32.const 48))
    (call $proc_exit (i32.const 2)))

  ;; parses the decimal argument argv[i] (1-based), or exits with the usage line
  (func $arg (param $i i32) (result i32)
    (local $arg i32) (local $c i32) (local $len i32) (local $n i32)
    (local.set $arg (i32.load (i32.add (i32.const 1024) (i32.mul (local.get $i) (i32.const 4)))))
    (block $done
      (loop $next
        (local.set $c (i32.load8_u (i32.add (local.get $arg) (local.get $len))))
        (br_if $done (i32.eqz (local.get $c)))
        (if (i32.or (i32.lt_u (local.get $c) (i32.const 48)) (i32.gt_u (local.get $c) (i32.const 57))) (then (call $usage)))
        (local.set $len (i32.add (local.get $len) (i32.const 1)))
        (if (i32.gt_u (local.get $len) (i32.const 9)) (then (call $usage)))
        (local.set $n (i32.add (i32.mul (local.get $n) (i32.const 10)) (i32.sub (local.get $c) (i32.const 48))))
        (br $next)))
    (if (i32.eqz (local.get $len)) (then (call $usage)))
    (local.get $n))

  ;; prints the current number; exits after 1, otherwise sleeps before the next
  (func $tick
    (call $print (global.get $n))
    (if (i32.le_u (global.get $n) (i32.const 1)) (then (call $proc_exit (i32.const 0))))
    (global.set $n (i32.sub (global.get $n) (i32.const 1)))
    (if (call $call (i32.const 0) (call $handle) (i32.const 0) (i32.const 1)
          (i32.const 64) (i32.const 2) (i32.const 80) (i32.const 10) (i32.const 96) (global.get $request_len))
      (then
        (call $write (i32.const 2) (i32.const 192) (i32.const 28))
        (call $proc_exit (i32.const 1)))))

  (func (export "_start")
    (local $argc i32) (local $ms i32) (local $len i32)
    ;; argc at 16, argv buffer size at 20; argv pointers at 1024, strings at 2048
    (drop (call $args_sizes_get (i32.const 16) (i32.const 20)))
    (local.set $argc (i32.load (i32.const 16)))
    (if (i32.or (i32.lt_u (local.get $argc) (i32.const 2)) (i32.gt_u (local.get $argc) (i32.const 3))) (then (call $usage)))
    (if (i32.gt_u (i32.load (i32.const 20)) (i32.const 8192)) (then (call $usage)))
    (drop (call $args_get (i32.const 1024) (i32.const 2048)))
    (global.set $n (call $arg (i32.const 1)))
    (if (i32.eqz (global.get $n)) (then (call $usage)))
    (local.set $ms (i32.const 100))
    (if (i32.eq (local.get $argc) (i32.const 3)) (then (local.set $ms (call $arg (i32.const 2)))))
    ;; the sleep request: {"duration_ms":MS}
    (local.set $len (call $itoa (local.get $ms) (i32.const 111)))
    (i32.store8 (i32.add (i32.const 111) (local.get $len)) (i32.const 125))
    (global.set $request_len (i32.add (i32.const 16) (local.get $len)))
    (call $tick))

  (func (export "wasm_bus_malloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.add (local.get $ptr) (local.get $len)))
    (if (i32.gt_u (global.get $heap) (i32.const 65536)) (then (global.set $heap (i32.const 16384)) (local.set $ptr (i32.const 16384))))
    (local.get $ptr))
  (func (export "wasm_bus_free") (param i32 i32))
  (func (export "wasm_bus_finish") (param i32 i32 i32 i32) (call $tick))
  (func (export "wasm_bus_error") (param i32 i32)
    (call $write (i32.const 2) (i32.const 192) (i32.const 28))
    (call $proc_exit (i32.const 1))))
