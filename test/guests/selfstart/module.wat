;; Calls its own module from _initialize: starting it would start another instance of it, and
;; that one another, without end, unless the host refuses. It logs each start.
(module
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "selfstart")  ;; 9
  (data (i32.const 32) "ping")       ;; 4
  (data (i32.const 48) "started")    ;; 7
  (data (i32.const 64) "{}")         ;; 2
  (func (export "_initialize")
    (drop (call $log (i32.const 3) (i32.const 48) (i32.const 7)))
    (drop (call $listen (i32.const 32) (i32.const 4)))
    (drop (call $call (i32.const 0) (call $handle) (i32.const 0) (i32.const 1)
      (i32.const 16) (i32.const 9) (i32.const 32) (i32.const 4) (i32.const 64) (i32.const 2))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "wasm_bus_free") (param i32 i32))
  (func (export "wasm_bus_start") (param i32) (param $h i32) (param i32 i32 i32 i32 i32)
    (drop (call $reply (local.get $h) (i32.const 1) (i32.const 64) (i32.const 2))))
  (func (export "wasm_bus_finish") (param i32 i32 i32 i32))
  (func (export "wasm_bus_error") (param i32 i32))
  (func (export "wasm_bus_drop") (param i32)))
