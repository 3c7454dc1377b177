;; Two roles in one guest. As "flood", topic go invokes its caller's tick
;; callback 20,000 times without returning, counts the invocations the host
;; refused (backpressure), and answers with that count as one JSON digit
;; string. Topic stop invokes tick until the host refuses one, then faults
;; the call with the refusal's code, as a server that passes it on does.
;; Topic batches invokes tick 3,000 times, sleeps 1 ms (returning to the host
;; meanwhile), three times over, then answers how many were refused. Topic big invokes tick with
;; 1 MiB at a time, up to 40 times, and faults the call with the first refusal's code (a byte
;; bound, not a count, stops it). As "flood-client", topic watch calls flood.go with a tick
;; callback, and watchbig flood.big, and answers with its reply once it arrives.
(module
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "callback" (func $callback (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "reply_callback" (func $reply_callback (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "fault" (func $fault (param i32 i32) (result i32)))
  (memory (export "memory") 17)
  (data (i32.const 16) "go")       ;; 2
  (data (i32.const 32) "watch")    ;; 5
  (data (i32.const 48) "flood")    ;; 5
  (data (i32.const 64) "tick")     ;; 4
  (data (i32.const 80) "1")        ;; 1
  (data (i32.const 96) "{}")       ;; 2
  (data (i32.const 112) "stop")    ;; 4
  (data (i32.const 128) "os")      ;; 2
  (data (i32.const 144) "time.sleep")  ;; 10
  (data (i32.const 160) "{\"duration_ms\":1}")  ;; 17
  (data (i32.const 184) "batches") ;; 7
  (data (i32.const 224) "big")     ;; 3
  (data (i32.const 232) "watchbig") ;; 8
  (global $in (mut i32) (i32.const 0))
  (global $go (mut i32) (i32.const 0))
  ;; batches: the call, the batches left, the sleep between them, the refusals so far
  (global $batching (mut i32) (i32.const 0))
  (global $left (mut i32) (i32.const 0))
  (global $sleep (mut i32) (i32.const 0))
  (global $refusedB (mut i32) (i32.const 0))
  (func (export "_initialize")
    (drop (call $listen (i32.const 16) (i32.const 2)))
    (drop (call $listen (i32.const 32) (i32.const 5)))
    (drop (call $listen (i32.const 112) (i32.const 4)))
    (drop (call $listen (i32.const 184) (i32.const 7)))
    (drop (call $listen (i32.const 224) (i32.const 3)))
    (drop (call $listen (i32.const 232) (i32.const 8))))
  ;; everything the host hands over lands in one scratch area: nothing here keeps it
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "wasm_bus_free") (param i32 i32))
;; replies n to h as decimal digits (a JSON number)
  (func $answerCount (param $h i32) (param $n i32)
    (local $at i32)
    (local.set $at (i32.const 210))
    (loop $digit
      (local.set $at (i32.sub (local.get $at) (i32.const 1)))
      (i32.store8 (local.get $at) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digit (local.get $n)))
    (drop (call $reply (local.get $h) (i32.const 1) (local.get $at) (i32.sub (i32.const 210) (local.get $at)))))
  ;; one batch of batches: 3,000 ticks, then a sleep, or the answer after the last
  (func $batch
    (local $i i32)
    (loop $more
      (if (call $reply_callback (global.get $batching) (i32.const 1) (i32.const 64) (i32.const 4) (i32.const 80) (i32.const 1))
        (then (global.set $refusedB (i32.add (global.get $refusedB) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 3000))))
    (global.set $left (i32.sub (global.get $left) (i32.const 1)))
    (if (i32.eqz (global.get $left))
      (then (call $answerCount (global.get $batching) (global.get $refusedB)) (return)))
    (global.set $sleep (call $handle))
    (drop (call $call (i32.const 0) (global.get $sleep) (i32.const 0) (i32.const 1)
      (i32.const 128) (i32.const 2) (i32.const 144) (i32.const 10) (i32.const 160) (i32.const 17))))
  (func (export "wasm_bus_start") (param i32) (param $h i32) (param i32) (param $t i32) (param $tlen i32) (param i32 i32)
    (local $i i32) (local $refused i32) (local $code i32)
    (if (i32.eq (local.get $tlen) (i32.const 2))
      (then
        (loop $more
          (if (call $reply_callback (local.get $h) (i32.const 1) (i32.const 64) (i32.const 4) (i32.const 80) (i32.const 1))
            (then (local.set $refused (i32.add (local.get $refused) (i32.const 1)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $more (i32.lt_u (local.get $i) (i32.const 20000))))
        (call $answerCount (local.get $h) (local.get $refused))
        (return)))
    (if (i32.eq (local.get $tlen) (i32.const 7))
      (then
        (global.set $batching (local.get $h))
        (global.set $left (i32.const 3))
        (global.set $refusedB (i32.const 0))
        (call $batch)
        (return)))
    (if (i32.eq (local.get $tlen) (i32.const 3))
      (then
        ;; big: 1 MiB ticks (from 64 KiB up) until one is refused, then that refusal as the fault
        (loop $more
          (local.set $code (call $reply_callback (local.get $h) (i32.const 1) (i32.const 64) (i32.const 4) (i32.const 0x10000) (i32.const 0x100000)))
          (if (local.get $code) (then (drop (call $fault (local.get $h) (local.get $code))) (return)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $more (i32.lt_u (local.get $i) (i32.const 40))))
        (call $answerCount (local.get $h) (i32.const 0))
        (return)))
    (if (i32.eq (local.get $tlen) (i32.const 4))
      (then
        (loop $until
          (local.set $code (call $reply_callback (local.get $h) (i32.const 1) (i32.const 64) (i32.const 4) (i32.const 80) (i32.const 1)))
          (br_if $until (i32.eqz (local.get $code))))
        (drop (call $fault (local.get $h) (local.get $code)))
        (return)))
    (global.set $in (local.get $h))
    (global.set $go (call $handle))
    (drop (call $callback (global.get $go) (call $handle) (i32.const 64) (i32.const 4)))
    ;; watch calls flood.go, watchbig flood.big
    (local.set $code (call $call (i32.const 0) (global.get $go) (i32.const 0) (i32.const 1)
      (i32.const 48) (i32.const 5)
      (select (i32.const 224) (i32.const 16) (i32.eq (local.get $tlen) (i32.const 8)))
      (select (i32.const 3) (i32.const 2) (i32.eq (local.get $tlen) (i32.const 8)))
      (i32.const 96) (i32.const 2)))
    (if (local.get $code) (then (drop (call $fault (local.get $h) (local.get $code))))))
  (func (export "wasm_bus_finish") (param $h i32) (param $fmt i32) (param $ptr i32) (param $len i32)
    (if (i32.and (i32.ne (global.get $sleep) (i32.const 0)) (i32.eq (local.get $h) (global.get $sleep)))
      (then (global.set $sleep (i32.const 0)) (call $batch) (return)))
    (if (i32.eq (local.get $h) (global.get $go))
      (then (drop (call $reply (global.get $in) (local.get $fmt) (local.get $ptr) (local.get $len))))))
  (func (export "wasm_bus_error") (param $h i32) (param $code i32)
    (drop (call $fault (global.get $in) (local.get $code))))
  (func (export "wasm_bus_drop") (param i32)))
