;; "self" calls this module's own "self" (a cycle the host must refuse);
;; "greet" passes its request to hello.greet and answers with hello's reply.
(module
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "fault" (func $fault (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "self")   ;; 4
  (data (i32.const 32) "greet")  ;; 5
  (data (i32.const 48) "loopy")  ;; 5
  (data (i32.const 64) "hello")  ;; 5
  (global $heap (mut i32) (i32.const 4096))
  (global $in (mut i32) (i32.const 0))
  (func (export "_initialize")
    (drop (call $listen (i32.const 16) (i32.const 4)))
    (drop (call $listen (i32.const 32) (i32.const 5))))
  (func (export "wasm_bus_malloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.add (local.get $ptr) (local.get $len)))
    (local.get $ptr))
  (func (export "wasm_bus_free") (param i32 i32))
  (func (export "wasm_bus_start") (param i32) (param $h i32) (param $fmt i32) (param $t i32) (param $tlen i32) (param $req i32) (param $len i32)
    (local $code i32)
    (global.set $in (local.get $h))
    (if (i32.eq (local.get $tlen) (i32.const 4))
      (then (local.set $code (call $call (i32.const 0) (call $handle) (i32.const 0) (local.get $fmt)
        (i32.const 48) (i32.const 5) (i32.const 16) (i32.const 4) (local.get $req) (local.get $len))))
      (else (local.set $code (call $call (i32.const 0) (call $handle) (i32.const 0) (local.get $fmt)
        (i32.const 64) (i32.const 5) (i32.const 32) (i32.const 5) (local.get $req) (local.get $len)))))
    (if (local.get $code) (then (drop (call $fault (local.get $h) (local.get $code))))))
  (func (export "wasm_bus_finish") (param $h i32) (param $fmt i32) (param $ptr i32) (param $len i32)
    (drop (call $reply (global.get $in) (local.get $fmt) (local.get $ptr) (local.get $len))))
  (func (export "wasm_bus_error") (param $h i32) (param $code i32)
    (drop (call $fault (global.get $in) (local.get $code))))
  (func (export "wasm_bus_drop") (param i32)))
