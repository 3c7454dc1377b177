;; Counts the calls its instance has served, to show which instance served a
;; call: "count" answers n at once; "wait" sleeps 50 ms (time.sleep), then
;; answers the n it was given on arrival; "trap" traps. Answers are single digits (n < 10).
(module
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "count")                   ;; 5
  (data (i32.const 32) "wait")                    ;; 4
  (data (i32.const 48) "os")                      ;; 2
  (data (i32.const 64) "time.sleep")              ;; 10
  (data (i32.const 80) "{\"duration_ms\":50}")    ;; 18
  (data (i32.const 112) "trap")                   ;; 4
  (global $n (mut i32) (i32.const 0))
  ;; inbound handle and its number, by the sleep's handle: slot = sleep handle % 64 at 1024
  (func (export "_initialize")
    (drop (call $listen (i32.const 16) (i32.const 5)))
    (drop (call $listen (i32.const 32) (i32.const 4)))
    (drop (call $listen (i32.const 112) (i32.const 4))))
  ;; data from the host lands in a scratch area; nothing here keeps it
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "wasm_bus_free") (param i32 i32))
  (func $answer (param $h i32) (param $n i32)
    (i32.store8 (i32.const 200) (i32.add (i32.const 48) (local.get $n)))
    (drop (call $reply (local.get $h) (i32.const 1) (i32.const 200) (i32.const 1))))
  (func (export "wasm_bus_start") (param i32) (param $h i32) (param i32) (param $t i32) (param $tlen i32) (param i32 i32)
    (local $sleep i32) (local $slot i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1)))
    (if (i32.eq (local.get $tlen) (i32.const 5)) (then (call $answer (local.get $h) (global.get $n)) (return)))
    (if (i32.eq (i32.load8_u (local.get $t)) (i32.const 116)) (then unreachable))
    (local.set $sleep (call $handle))
    (local.set $slot (i32.add (i32.const 1024) (i32.mul (i32.rem_u (local.get $sleep) (i32.const 64)) (i32.const 8))))
    (i32.store (local.get $slot) (local.get $h))
    (i32.store offset=4 (local.get $slot) (global.get $n))
    (drop (call $call (i32.const 0) (local.get $sleep) (i32.const 0) (i32.const 1)
      (i32.const 48) (i32.const 2) (i32.const 64) (i32.const 10) (i32.const 80) (i32.const 18))))
  (func (export "wasm_bus_finish") (param $h i32) (param i32 i32 i32)
    (local $slot i32)
    (local.set $slot (i32.add (i32.const 1024) (i32.mul (i32.rem_u (local.get $h) (i32.const 64)) (i32.const 8))))
    (call $answer (i32.load (local.get $slot)) (i32.load offset=4 (local.get $slot))))
  (func (export "wasm_bus_error") (param i32 i32))
  (func (export "wasm_bus_drop") (param i32)))
