;; heavy-rest: a log line and a rest larger than one SQLite row of a Durable Object (2 MB). The
;; line is 2,500,000 x from 65536, logged once, then zeroed (its pages are not the rest's weight);
;; the callbacks' names are 1,024 bytes at 4096, the first four a count (a to p, a nibble each).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "log" (func $log (param i32 i32 i32) (result i32)))
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "callback" (func $callback (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 48)
  (data (i32.const 64) "os")                        ;; 2
  (data (i32.const 80) "time.sleep")                ;; 10
  (data (i32.const 112) "{\"duration_ms\":600000}") ;; 22
  (data (i32.const 160) "woke\n")                   ;; 5

  (func (export "_start")
    (local $parent i32) (local $i i32) (local $k i32)
    (memory.fill (i32.const 65536) (i32.const 120) (i32.const 2500000))
    (drop (call $log (i32.const 3) (i32.const 65536) (i32.const 2500000)))
    (memory.fill (i32.const 65536) (i32.const 0) (i32.const 2500000))
    (memory.fill (i32.const 4096) (i32.const 99) (i32.const 1024))
    (local.set $parent (call $handle))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (i32.const 1200)))
      (local.set $k (i32.const 0))
      (block $named (loop $nibble
        (br_if $named (i32.ge_u (local.get $k) (i32.const 4)))
        (i32.store8 (i32.add (i32.const 4096) (local.get $k))
          (i32.add (i32.const 97) (i32.and (i32.shr_u (local.get $i) (i32.mul (local.get $k) (i32.const 4))) (i32.const 15))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $nibble)))
      (drop (call $callback (local.get $parent) (call $handle) (i32.const 4096) (i32.const 1024)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (drop (call $call (i32.const 0) (call $handle) (i32.const 0) (i32.const 1)
      (i32.const 64) (i32.const 2) (i32.const 80) (i32.const 10) (i32.const 112) (i32.const 22))))

  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 61440))
  (func (export "wasm_bus_free") (param i32 i32))
  (func (export "wasm_bus_finish") (param i32 i32 i32 i32)
    (i32.store (i32.const 0) (i32.const 160))
    (i32.store (i32.const 4) (i32.const 5))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "wasm_bus_error") (param i32 i32))
  (func (export "wasm_bus_drop") (param i32)))
