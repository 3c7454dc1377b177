;; faults: fails every call on its one topic with the code the request names, in decimal digits
;; (test/edge-errors.test.ts), and its own words. A code such as InvalidTopic is then the
;; module's, not the host's routing refusal.
(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "fault_message" (func $fault_message (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "fault")                     ;; 5
  (data (i32.const 32) "the guest's own reason")    ;; 22
  (func (export "_initialize")
    (drop (call $listen (i32.const 16) (i32.const 5))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "wasm_bus_start") (param i32) (param $h i32) (param i32) (param i32) (param i32) (param $req i32) (param $len i32)
    (local $code i32) (local $d i32) (local $end i32)
    (local.set $end (i32.add (local.get $req) (local.get $len)))
    (block $done (loop $digits
      (br_if $done (i32.ge_u (local.get $req) (local.get $end)))
      (local.set $d (i32.sub (i32.load8_u (local.get $req)) (i32.const 48)))
      (br_if $done (i32.gt_u (local.get $d) (i32.const 9)))
      (local.set $code (i32.add (i32.mul (local.get $code) (i32.const 10)) (local.get $d)))
      (local.set $req (i32.add (local.get $req) (i32.const 1)))
      (br $digits)))
    (drop (call $fault_message (local.get $h) (local.get $code) (i32.const 32) (i32.const 22))))
  (func (export "wasm_bus_finish") (param i32 i32 i32 i32))
  (func (export "wasm_bus_error") (param i32 i32))
  (func (export "wasm_bus_drop") (param i32)))
