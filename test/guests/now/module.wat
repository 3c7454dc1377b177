;; ABI v2 test guest: every topic makes one call_now and answers (raw) with
;; what it learnt, 36 bytes then the result's bytes:
;;   [0] call_now's status   [4] ready   [8] handle (from the out record)
;;   [12] format  [16] ptr  [20] len     (of the result, wherever it came)
;;   [24] via: 0 inside the import, 1 wasm_bus_finish, 2 wasm_bus_error
;;   [28] the error code (via 2), or drop's status (keep)   [32] callback ticks seen
;; Topics: echo ([cap u32][payload] to os echo.echo, result buffer of cap bytes),
;; now (os time.now), sleep (os time.sleep 5 ms), count (ticks.count, answers at
;; once), wait (ticks.wait, answers after 50 ms), bad-out (an out record past
;; memory), unknown (a module that does not exist), keep (kept-alive echo, then
;; drop), flood (flood.go with a tick callback: callbacks before the result),
;; ordered (flood.go, then echo.echo in the same entry: the echo cannot come
;; back inside the import ahead of what is queued; [28] says flood's result came first).
(module
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "call_now" (func $call_now (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "callback" (func $callback (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "drop" (func $drop (param i32) (result i32)))
  (memory (export "memory") 3)
  (data (i32.const 16) "os")                      ;; 2
  (data (i32.const 32) "echo.echo")               ;; 9
  (data (i32.const 48) "time.now")                ;; 8
  (data (i32.const 64) "time.sleep")              ;; 10
  (data (i32.const 80) "{\"duration_ms\":5}")     ;; 17
  (data (i32.const 112) "{}")                     ;; 2
  (data (i32.const 128) "ticks")                  ;; 5
  (data (i32.const 144) "count")                  ;; 5
  (data (i32.const 160) "wait")                   ;; 4
  (data (i32.const 176) "nope")                   ;; 4
  (data (i32.const 192) "flood")                  ;; 5
  (data (i32.const 208) "go")                     ;; 2
  (data (i32.const 224) "tick")                   ;; 4
  (data (i32.const 320) "echo")                   ;; 4
  (data (i32.const 336) "now")                    ;; 3
  (data (i32.const 352) "sleep")                  ;; 5
  (data (i32.const 368) "bad-out")                ;; 7
  (data (i32.const 384) "unknown")                ;; 7
  (data (i32.const 400) "keep")                   ;; 4
  (data (i32.const 416) "ordered")                ;; 7
  ;; "count", "wait" and "flood" are listened on from the strings above
  (global $in (mut i32) (i32.const 0))
  (global $status (mut i32) (i32.const 0))
  (global $pending (mut i32) (i32.const 0))
  (global $cb (mut i32) (i32.const 0))
  (global $ticks (mut i32) (i32.const 0))
  (global $extra (mut i32) (i32.const 0))
  (global $bump (mut i32) (i32.const 65536))
  (global $echo (mut i32) (i32.const 0))
  (func (export "_initialize")
    (drop (call $listen (i32.const 320) (i32.const 4)))
    (drop (call $listen (i32.const 336) (i32.const 3)))
    (drop (call $listen (i32.const 352) (i32.const 5)))
    (drop (call $listen (i32.const 144) (i32.const 5)))
    (drop (call $listen (i32.const 160) (i32.const 4)))
    (drop (call $listen (i32.const 368) (i32.const 7)))
    (drop (call $listen (i32.const 384) (i32.const 7)))
    (drop (call $listen (i32.const 400) (i32.const 4)))
    (drop (call $listen (i32.const 192) (i32.const 5)))
    (drop (call $listen (i32.const 416) (i32.const 7))))
  ;; a bump allocator from 64 KiB that never frees (pooled instances live for a few calls)
  (func (export "wasm_bus_malloc") (param $len i32) (result i32)
    (local $at i32)
    (if (i32.gt_u (i32.add (global.get $bump) (local.get $len)) (i32.const 0x30000))
      (then (global.set $bump (i32.const 65536))))
    (local.set $at (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $len)))
    (local.get $at))
  (func (export "wasm_bus_free") (param i32 i32))

  ;; the answer: header at 2048, the result's bytes after it
  (func $answer (param $via i32) (param $fmt i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 2048) (global.get $status))
    (i32.store (i32.const 2052) (i32.load (i32.const 1024)))
    (i32.store (i32.const 2056) (i32.load (i32.const 1028)))
    (i32.store (i32.const 2060) (local.get $fmt))
    (i32.store (i32.const 2064) (local.get $ptr))
    (i32.store (i32.const 2068) (local.get $len))
    (i32.store (i32.const 2072) (local.get $via))
    (i32.store (i32.const 2076) (global.get $extra))
    (i32.store (i32.const 2080) (global.get $ticks))
    (if (local.get $len) (then (memory.copy (i32.const 2084) (local.get $ptr) (local.get $len))))
    (drop (call $reply (global.get $in) (i32.const 0) (i32.const 2048) (i32.add (i32.const 36) (local.get $len)))))

  ;; after call_now: answer now (refused, failed, or the result is here) or wait for it
  (func $after (param $status i32)
    (global.set $status (local.get $status))
    (if (local.get $status) (then (call $answer (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)) (return)))
    (if (i32.load (i32.const 1024))
      (then (call $answer (i32.const 0) (i32.load (i32.const 1032)) (i32.load (i32.const 1036)) (i32.load (i32.const 1040))))
      (else (global.set $pending (i32.load (i32.const 1028))))))

  ;; call_now(parent 0, handle, keepalive, format, wapm, topic, request, result buffer 8192/cap, out 1024)
  (func $now (param $handle i32) (param $keep i32) (param $fmt i32) (param $w i32) (param $wl i32) (param $t i32) (param $tl i32)
             (param $r i32) (param $rl i32) (param $cap i32) (param $out i32) (result i32)
    (i32.store (i32.const 1024) (i32.const 0xdead))
    (call $call_now (i32.const 0) (local.get $handle) (local.get $keep) (local.get $fmt)
      (local.get $w) (local.get $wl) (local.get $t) (local.get $tl) (local.get $r) (local.get $rl)
      (i32.const 8192) (local.get $cap) (local.get $out)))

  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $format i32)
        (param $t i32) (param $tl i32) (param $req i32) (param $reqLen i32)
    (local $c i32)
    (global.set $in (local.get $h))
    (global.set $pending (i32.const 0))
    (global.set $ticks (i32.const 0))
    (global.set $extra (i32.const 0))
    (global.set $cb (i32.const 0))
    (global.set $echo (i32.const 0))
    (local.set $c (i32.load8_u (local.get $t)))
    ;; ordered: flood.go (its ticks and result queued), then echo.echo
    (if (i32.eq (local.get $c) (i32.const 111))
      (then
        (local.set $c (call $handle))
        (global.set $cb (call $handle))
        (drop (call $callback (local.get $c) (global.get $cb) (i32.const 224) (i32.const 4)))
        (drop (call $now (local.get $c) (i32.const 0) (i32.const 1) (i32.const 192) (i32.const 5) (i32.const 208) (i32.const 2)
          (i32.const 112) (i32.const 2) (i32.const 64) (i32.const 1024)))
        (global.set $pending (i32.load (i32.const 1028)))
        (global.set $status (call $now (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 2) (i32.const 32) (i32.const 9)
          (i32.const 112) (i32.const 2) (i32.const 64) (i32.const 1024)))
        ;; the echo's out record stays at 1024 for the answer
        (global.set $echo (i32.load (i32.const 1028)))
        (return)))
    ;; echo: [cap][payload]
    (if (i32.and (i32.eq (local.get $c) (i32.const 101)) (i32.eq (local.get $tl) (i32.const 4)))
      (then (call $after (call $now (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 2) (i32.const 32) (i32.const 9)
        (i32.add (local.get $req) (i32.const 4)) (i32.sub (local.get $reqLen) (i32.const 4)) (i32.load (local.get $req)) (i32.const 1024))) (return)))
    ;; now
    (if (i32.eq (local.get $c) (i32.const 110))
      (then (call $after (call $now (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16) (i32.const 2) (i32.const 48) (i32.const 8)
        (i32.const 112) (i32.const 2) (i32.const 64) (i32.const 1024))) (return)))
    ;; sleep
    (if (i32.eq (local.get $c) (i32.const 115))
      (then (call $after (call $now (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16) (i32.const 2) (i32.const 64) (i32.const 10)
        (i32.const 80) (i32.const 17) (i32.const 64) (i32.const 1024))) (return)))
    ;; count
    (if (i32.eq (local.get $c) (i32.const 99))
      (then (call $after (call $now (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 128) (i32.const 5) (i32.const 144) (i32.const 5)
        (i32.const 112) (i32.const 2) (i32.const 64) (i32.const 1024))) (return)))
    ;; wait
    (if (i32.eq (local.get $c) (i32.const 119))
      (then (call $after (call $now (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 128) (i32.const 5) (i32.const 160) (i32.const 4)
        (i32.const 112) (i32.const 2) (i32.const 64) (i32.const 1024))) (return)))
    ;; bad-out: the out record runs past the end of memory
    (if (i32.eq (local.get $c) (i32.const 98))
      (then (call $after (call $now (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 2) (i32.const 32) (i32.const 9)
        (i32.const 112) (i32.const 2) (i32.const 64) (i32.const 196600))) (return)))
    ;; unknown
    (if (i32.eq (local.get $c) (i32.const 117))
      (then (call $after (call $now (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 176) (i32.const 4) (i32.const 144) (i32.const 5)
        (i32.const 112) (i32.const 2) (i32.const 64) (i32.const 1024))) (return)))
    ;; keep: kept alive, answered at once, then dropped by its handle
    (if (i32.eq (local.get $c) (i32.const 107))
      (then
        (global.set $status (call $now (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 16) (i32.const 2) (i32.const 32) (i32.const 9)
          (i32.const 112) (i32.const 2) (i32.const 64) (i32.const 1024)))
        (global.set $extra (call $drop (i32.load (i32.const 1028))))
        (call $answer (i32.const 0) (i32.load (i32.const 1032)) (i32.load (i32.const 1036)) (i32.load (i32.const 1040)))
        (return)))
    ;; flood: a reserved handle with a tick callback
    (local.set $c (call $handle))
    (global.set $cb (call $handle))
    (drop (call $callback (local.get $c) (global.get $cb) (i32.const 224) (i32.const 4)))
    (call $after (call $now (local.get $c) (i32.const 0) (i32.const 1) (i32.const 192) (i32.const 5) (i32.const 208) (i32.const 2)
      (i32.const 112) (i32.const 2) (i32.const 64) (i32.const 1024))))

  (func (export "wasm_bus_finish") (param $h i32) (param $fmt i32) (param $ptr i32) (param $len i32)
    (if (i32.and (i32.ne (global.get $cb) (i32.const 0)) (i32.eq (local.get $h) (global.get $cb)))
      (then (global.set $ticks (i32.add (global.get $ticks) (i32.const 1))) (return)))
    (if (i32.and (i32.ne (global.get $echo) (i32.const 0)) (i32.eq (local.get $h) (global.get $echo)))
      (then (call $answer (i32.const 1) (local.get $fmt) (local.get $ptr) (local.get $len)) (return)))
    (if (i32.eq (local.get $h) (global.get $pending))
      (then
        (if (global.get $echo)
          (then (global.set $extra (i32.const 1)))
          (else (call $answer (i32.const 1) (local.get $fmt) (local.get $ptr) (local.get $len)))))))
  (func (export "wasm_bus_error") (param $h i32) (param $code i32)
    (global.set $extra (local.get $code))
    (call $answer (i32.const 2) (i32.const 0) (i32.const 0) (i32.const 0)))
  (func (export "wasm_bus_drop") (param i32)))
