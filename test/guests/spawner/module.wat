;; Sub-processes through the bus: the request of "run" is a process.spawn
;; request; once spawned, the child's stdin is closed (process.close_stdin under
;; the spawn call); stdout callbacks are logged as they come, the exit
;; callback's code is the reply, then the spawn call is dropped.
(module
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "callback" (func $callback (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "fault" (func $fault (param i32 i32) (result i32)))
  (import "wasm-bus" "drop" (func $drop (param i32) (result i32)))
  (import "wasm-bus" "log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "run")            ;; 3
  (data (i32.const 32) "os")             ;; 2
  (data (i32.const 48) "process.spawn")  ;; 13
  (data (i32.const 64) "stdout")         ;; 6
  (data (i32.const 80) "exit")           ;; 4
  (data (i32.const 96) "process.close_stdin") ;; 19
  (data (i32.const 128) "{}")            ;; 2
  (global $heap (mut i32) (i32.const 4096))
  (global $in (mut i32) (i32.const 0))
  (global $spawn (mut i32) (i32.const 0))
  (global $out (mut i32) (i32.const 0))
  (global $exit (mut i32) (i32.const 0))
  (func (export "_initialize") (drop (call $listen (i32.const 16) (i32.const 3))))
  (func (export "wasm_bus_malloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.add (local.get $ptr) (local.get $len)))
    (local.get $ptr))
  (func (export "wasm_bus_free") (param i32 i32))
  (func (export "wasm_bus_start") (param i32) (param $h i32) (param i32 i32 i32) (param $req i32) (param $len i32)
    (local $code i32)
    (global.set $in (local.get $h))
    (global.set $spawn (call $handle))
    (global.set $out (call $handle))
    (global.set $exit (call $handle))
    (drop (call $callback (global.get $spawn) (global.get $out) (i32.const 64) (i32.const 6)))
    (drop (call $callback (global.get $spawn) (global.get $exit) (i32.const 80) (i32.const 4)))
    (local.set $code (call $call (i32.const 0) (global.get $spawn) (i32.const 1) (i32.const 1)
      (i32.const 32) (i32.const 2) (i32.const 48) (i32.const 13) (local.get $req) (local.get $len)))
    (if (local.get $code) (then (drop (call $fault (local.get $h) (local.get $code))))))
  (func (export "wasm_bus_finish") (param $h i32) (param $fmt i32) (param $ptr i32) (param $len i32)
    (if (i32.eq (local.get $h) (global.get $spawn))
      (then (drop (call $call (global.get $spawn) (call $handle) (i32.const 0) (i32.const 1)
        (i32.const 32) (i32.const 2) (i32.const 96) (i32.const 19) (i32.const 128) (i32.const 2)))))
    (if (i32.eq (local.get $h) (global.get $out))
      (then (drop (call $log (i32.const 3) (local.get $ptr) (local.get $len)))))
    (if (i32.eq (local.get $h) (global.get $exit))
      (then
        (drop (call $reply (global.get $in) (local.get $fmt) (local.get $ptr) (local.get $len)))
        (drop (call $drop (global.get $spawn))))))
  (func (export "wasm_bus_error") (param $h i32) (param $code i32)
    (drop (call $fault (global.get $in) (local.get $code))))
  (func (export "wasm_bus_drop") (param i32)))
