;; sleeps ARG...: each argument is the JSON request of one os time.sleep_until call, made all at
;; once from _start; each that ends prints "woke ARG", each that fails "failed ARG". It waits the
;; portable way (as countdown): _start returns, and the process runs while its calls are in flight.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "os")                ;; 2
  (data (i32.const 80) "time.sleep_until")  ;; 16
  (data (i32.const 112) "woke ")            ;; 5
  (data (i32.const 128) "failed ")          ;; 7
  ;; argv's pointers at 16384, its strings from 24576 (a thousand short arguments fit); the argument
  ;; of each call by its handle at 4096; a line is built at 8192

  (func $strlen (param $p i32) (result i32)
    (local $n i32)
    (block $end (loop $next
      (br_if $end (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $n))

  (func $arg (param $i i32) (result i32)
    (i32.load (i32.add (i32.const 16384) (i32.mul (local.get $i) (i32.const 4)))))

  (func $slot (param $h i32) (result i32)
    (i32.add (i32.const 4096) (i32.mul (i32.and (local.get $h) (i32.const 255)) (i32.const 4))))

  ;; prints the prefix (at $p, $plen bytes), the argument of call $h and a newline, built at 8192
  (func $say (param $p i32) (param $plen i32) (param $h i32)
    (local $a i32) (local $alen i32)
    (local.set $a (call $arg (i32.load (call $slot (local.get $h)))))
    (local.set $alen (call $strlen (local.get $a)))
    (memory.copy (i32.const 8192) (local.get $p) (local.get $plen))
    (memory.copy (i32.add (i32.const 8192) (local.get $plen)) (local.get $a) (local.get $alen))
    (i32.store8 (i32.add (i32.const 8192) (i32.add (local.get $plen) (local.get $alen))) (i32.const 10))
    (i32.store (i32.const 0) (i32.const 8192))
    (i32.store (i32.const 4) (i32.add (i32.add (local.get $plen) (local.get $alen)) (i32.const 1)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  (func (export "_start")
    (local $argc i32) (local $i i32) (local $h i32) (local $a i32)
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (local.set $argc (i32.load (i32.const 0)))
    (drop (call $args_get (i32.const 16384) (i32.const 24576)))
    (local.set $i (i32.const 1))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $argc)))
      (local.set $h (call $handle))
      (i32.store (call $slot (local.get $h)) (local.get $i))
      (local.set $a (call $arg (local.get $i)))
      (drop (call $call (i32.const 0) (local.get $h) (i32.const 0) (i32.const 1)
        (i32.const 64) (i32.const 2) (i32.const 80) (i32.const 16) (local.get $a) (call $strlen (local.get $a))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))

  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 61440))
  (func (export "wasm_bus_free") (param i32 i32))
  (func (export "wasm_bus_finish") (param $h i32) (param i32 i32 i32)
    (call $say (i32.const 112) (i32.const 5) (local.get $h)))
  (func (export "wasm_bus_error") (param $h i32) (param i32)
    (call $say (i32.const 128) (i32.const 7) (local.get $h)))
  (func (export "wasm_bus_drop") (param i32)))
