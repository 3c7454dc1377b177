;; Test guest: topic write hands its request ({"level","message"}, json) to os log.write
;; with call_now, then replies with call_now's status (u32, raw bytes). A guest's bus call
;; to log.write is held to the guest's own limits.logBytes, as its log import is.
(module
  (import "wasm-bus" "call_now" (func $call_now (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 32)
  (data (i32.const 16) "os")          ;; 2
  (data (i32.const 32) "log.write")   ;; 9
  (data (i32.const 48) "write")       ;; 5
  (global $bump (mut i32) (i32.const 65536))
  (func (export "_initialize")
    (drop (call $listen (i32.const 48) (i32.const 5))))
  ;; a bump allocator from 64 KiB that starts over when full: a request lives for one call
  (func (export "wasm_bus_malloc") (param $len i32) (result i32)
    (local $at i32)
    (if (i32.gt_u (i32.add (global.get $bump) (local.get $len)) (i32.const 0x200000))
      (then (global.set $bump (i32.const 65536))))
    (local.set $at (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $len)))
    (local.get $at))
  (func (export "wasm_bus_free") (param i32 i32))
  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $format i32)
        (param $t i32) (param $tl i32) (param $req i32) (param $reqLen i32)
    ;; call_now(parent 0, no handle, no keepalive, json, "os", "log.write", request, result 8192/64, out 1024)
    (i32.store (i32.const 2048)
      (call $call_now (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1)
        (i32.const 16) (i32.const 2) (i32.const 32) (i32.const 9) (local.get $req) (local.get $reqLen)
        (i32.const 8192) (i32.const 64) (i32.const 1024)))
    (drop (call $reply (local.get $h) (i32.const 0) (i32.const 2048) (i32.const 4)))))
