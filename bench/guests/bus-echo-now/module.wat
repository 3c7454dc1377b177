;; Bench guest for the round trip on ABI v2 (call_now), written by hand with
;; the logic of bus-echo and wapc-echo:
;;   "once"          request = payload. One call_now to os echo.echo; replies with the echo.
;;   "bench"         request = [n: u32 LE][payload]. n call_now round trips to os
;;                   echo.echo in a loop inside this one entry, as waPC's guest
;;                   loops over __host_call: each reply is the next request.
;;   "bench-module"  as "bench", to topic "echo" of module "bench-peer" (this same
;;                   guest under another name): a module-to-module call.
;;   "echo"          replies with the request (the server side of bench-module).
;; The reply comes back during the import into one of two fixed result buffers
;; (at 128 and 224 KiB), taken in turn so that every echo really moves the bytes
;; (into the buffer they came from, the copy would be a no-op). Where a call cannot answer at once (ready = 0) the loop goes on from
;; wasm_bus_finish, as a v1 guest's chain does; for the built-in echo and an
;; idle module instance that never happens.
(module
  (import "wasm-bus" "call_now" (func $call_now (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "fault" (func $fault (param i32 i32) (result i32)))
  (memory (export "memory") 5)
  (data (i32.const 16) "once")          ;; 4
  (data (i32.const 32) "bench")         ;; 5
  (data (i32.const 48) "os")            ;; 2
  (data (i32.const 64) "echo.echo")     ;; 9
  (data (i32.const 80) "bench-module")  ;; 12
  (data (i32.const 96) "bench-peer")    ;; 10
  (data (i32.const 112) "echo")         ;; 4
  (global $inbound (mut i32) (i32.const 0))
  (global $left (mut i32) (i32.const 0))
  (global $format (mut i32) (i32.const 0))
  ;; where the calls go: wapm and topic (ptr, len)
  (global $w (mut i32) (i32.const 48))
  (global $wl (mut i32) (i32.const 2))
  (global $t (mut i32) (i32.const 64))
  (global $tl (mut i32) (i32.const 9))

  (func (export "_initialize")
    (drop (call $listen (i32.const 16) (i32.const 4)))
    (drop (call $listen (i32.const 32) (i32.const 5)))
    (drop (call $listen (i32.const 80) (i32.const 12)))
    (drop (call $listen (i32.const 112) (i32.const 4))))

  ;; inbound data lands at 1024 (up to 124 KiB); results come to 0x20000 or 0x38000 (96 KiB each)
  (func (export "wasm_bus_malloc") (param $len i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $len) (i32.const 0x1f000))
      (then (i32.const 0))
      (else (i32.const 1024))))
  (func (export "wasm_bus_free") (param i32 i32))

  ;; Round trips from (ptr, len) until $left is 0 or a call must wait; then replies or returns.
  (func $run (param $ptr i32) (param $len i32)
    (local $status i32)
    (local $to i32)
    (loop $next
      (if (i32.eqz (global.get $left))
        (then (drop (call $reply (global.get $inbound) (global.get $format) (local.get $ptr) (local.get $len))) (return)))
      (local.set $to (select (i32.const 0x38000) (i32.const 0x20000) (i32.eq (local.get $ptr) (i32.const 0x20000))))
      (local.set $status
        (call $call_now (i32.const 0) (i32.const 0) (i32.const 0) (global.get $format)
          (global.get $w) (global.get $wl) (global.get $t) (global.get $tl)
          (local.get $ptr) (local.get $len) (local.get $to) (i32.const 0x18000) (i32.const 512)))
      (if (local.get $status)
        (then (drop (call $fault (global.get $inbound) (local.get $status))) (return)))
      (global.set $left (i32.sub (global.get $left) (i32.const 1)))
      ;; not answered at once: the result comes through wasm_bus_finish, which goes on
      (if (i32.eqz (i32.load (i32.const 512))) (then (return)))
      (local.set $ptr (i32.load (i32.const 524)))
      (local.set $len (i32.load (i32.const 528)))
      (br $next)))

  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $format i32)
        (param $topic i32) (param $topicLen i32) (param $req i32) (param $reqLen i32)
    (global.set $inbound (local.get $h))
    (global.set $format (local.get $format))
    (if (i32.eq (local.get $topicLen) (i32.const 4))
      (then
        ;; "echo" (the server) or "once"
        (if (i32.eq (i32.load8_u (local.get $topic)) (i32.const 101))
          (then (drop (call $reply (local.get $h) (local.get $format) (local.get $req) (local.get $reqLen))) (return)))
        (global.set $w (i32.const 48)) (global.set $wl (i32.const 2)) (global.set $t (i32.const 64)) (global.set $tl (i32.const 9))
        (global.set $left (i32.const 1))
        (call $run (local.get $req) (local.get $reqLen))
        (return)))
    (if (i32.eq (local.get $topicLen) (i32.const 5))
      (then (global.set $w (i32.const 48)) (global.set $wl (i32.const 2)) (global.set $t (i32.const 64)) (global.set $tl (i32.const 9)))
      (else (global.set $w (i32.const 96)) (global.set $wl (i32.const 10)) (global.set $t (i32.const 112)) (global.set $tl (i32.const 4))))
    (global.set $left (i32.load (local.get $req)))
    (call $run (i32.add (local.get $req) (i32.const 4)) (i32.sub (local.get $reqLen) (i32.const 4))))

  (func (export "wasm_bus_finish") (param $h i32) (param $format i32) (param $ptr i32) (param $len i32)
    (call $run (local.get $ptr) (local.get $len)))

  (func (export "wasm_bus_error") (param $h i32) (param $code i32)
    (drop (call $fault (global.get $inbound) (local.get $code)))))
