;; Fuel metering for guests: the build (wasm-opt --log-execution=wasm_bus_meter)
;; makes every guest call wasm_bus_meter.log_execution at each loop iteration
;; and function entry. That import is this module's `tick`, a Wasm-to-Wasm call
;; that costs a few instructions, where a JS import would cost a boundary crossing.
;; The host sets `fuel` before each entry into a guest (one meter serves every
;; guest of a runtime: they never run at once); at zero, tick calls the host's
;; `exhausted`, which throws, and the host reports a Timeout instead of letting
;; an endless loop hang the isolate.
(module
  (import "host" "exhausted" (func $exhausted))
  (global $fuel (export "fuel") (mut i64) (i64.const 0))
  (func (export "tick") (param i32)
    (global.set $fuel (i64.sub (global.get $fuel) (i64.const 1)))
    (if (i64.lt_s (global.get $fuel) (i64.const 0)) (then (call $exhausted) unreachable))))
