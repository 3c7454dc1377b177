;; Bench guest for the bus round trip (wasm-bus ABI v1, written by hand).
;;
;; Topics (raw, json or msgpack: the guest never looks inside the payload):
;;   "once"   request = payload. Calls os echo.echo once with it and replies
;;            with the echo: one inbound call, one host call (the peers' "invoke").
;;   "bench"  request = [n: u32 LE][payload]. Makes n echo round trips in a
;;            chain: each wasm_bus_finish starts the next call with the bytes it
;;            was just given; after the n-th it replies with the last echo.
;;
;; One buffer is enough: the host copies a request out during `call` and
;; copies a result in (through wasm_bus_malloc) right before each export, so
;; at most one buffer is live. Every peer's guest uses the same fixed buffers.
(module
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "fault" (func $fault (param i32 i32) (result i32)))
  (memory (export "memory") 3)
  (data (i32.const 16) "once")
  (data (i32.const 32) "bench")
  (data (i32.const 48) "os")
  (data (i32.const 64) "echo.echo")
  (global $inbound (mut i32) (i32.const 0))
  (global $left (mut i32) (i32.const 0))
  (global $format (mut i32) (i32.const 0))

  (func (export "_initialize")
    (drop (call $listen (i32.const 16) (i32.const 4)))
    (drop (call $listen (i32.const 32) (i32.const 5))))

  ;; up to 128 KiB at offset 1024
  (func (export "wasm_bus_malloc") (param $len i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $len) (i32.const 0x20000))
      (then (i32.const 0))
      (else (i32.const 1024))))
  (func (export "wasm_bus_free") (param i32 i32))

  ;; one echo round trip: handle() + call(); a refused call faults the inbound one
  (func $echo (param $ptr i32) (param $len i32)
    (local $status i32)
    (local.set $status
      (call $call (i32.const 0) (call $handle) (i32.const 0) (global.get $format)
        (i32.const 48) (i32.const 2) (i32.const 64) (i32.const 9)
        (local.get $ptr) (local.get $len)))
    (if (local.get $status)
      (then (drop (call $fault (global.get $inbound) (local.get $status))))))

  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $format i32)
        (param $topic i32) (param $topicLen i32) (param $req i32) (param $reqLen i32)
    (global.set $inbound (local.get $h))
    (global.set $format (local.get $format))
    (if (i32.eq (local.get $topicLen) (i32.const 4))
      (then
        (global.set $left (i32.const 1))
        (call $echo (local.get $req) (local.get $reqLen)))
      (else
        (global.set $left (i32.load (local.get $req)))
        (if (global.get $left)
          (then (call $echo (i32.add (local.get $req) (i32.const 4)) (i32.sub (local.get $reqLen) (i32.const 4))))
          (else (drop (call $reply (local.get $h) (local.get $format)
                  (i32.add (local.get $req) (i32.const 4)) (i32.sub (local.get $reqLen) (i32.const 4)))))))))

  (func (export "wasm_bus_finish") (param $h i32) (param $format i32) (param $ptr i32) (param $len i32)
    (global.set $left (i32.sub (global.get $left) (i32.const 1)))
    (if (global.get $left)
      (then (call $echo (local.get $ptr) (local.get $len)))
      (else (drop (call $reply (global.get $inbound) (local.get $format) (local.get $ptr) (local.get $len))))))

  (func (export "wasm_bus_error") (param $h i32) (param $code i32)
    (drop (call $fault (global.get $inbound) (local.get $code)))))
