;; Its instances never start: _initialize traps after listening, so each call fails with the
;; module's own failure, GuestTrapped, where a plain call and a session alike make an instance.
(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hi")
  (func (export "_initialize")
    (drop (call $listen (i32.const 16) (i32.const 2)))
    unreachable)
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "wasm_bus_start") (param i32 i32 i32 i32 i32 i32 i32)))
