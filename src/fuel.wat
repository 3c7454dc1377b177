;; Fuel metering for guests: the build (scripts/wasm-meter.mjs) makes every
;; guest take a unit of `fuel` at each loop iteration and at the entry of each
;; function that could repeat without a loop, inline: the guest imports this
;; counter as wasm_bus_meter.fuel, decrements it, and calls
;; wasm_bus_meter.log_execution, this module's `tick`, only once it is below zero.
;; The host sets `fuel` before each entry into a guest (one meter serves every
;; guest of a runtime: they never run at once); below zero, tick calls the host's
;; `exhausted`, which throws, and the host reports a Timeout instead of letting
;; an endless loop hang the isolate. (Modules metered by binaryen's
;; --log-execution alone, before, call tick for every unit.)
(module
  (import "host" "exhausted" (func $exhausted))
  (global $fuel (export "fuel") (mut i64) (i64.const 0))
  (func (export "tick") (param i32)
    (global.set $fuel (i64.sub (global.get $fuel) (i64.const 1)))
    (if (i64.lt_s (global.get $fuel) (i64.const 0)) (then (call $exhausted) unreachable))))
