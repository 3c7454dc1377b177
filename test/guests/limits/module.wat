;; Hostile to the host's limits (test/limits.test.ts):
;;   "hoard"  calls handle() as often as its request's first byte x 10,000 says, keeping them all,
;;            and answers how many it got (a JSON number, as decimal digits)
;;   "refuse" calls a module that does not exist (the host refuses, with its reason), then answers {}
;;   "fail"   faults with InvalidWapm (3) though nothing refused it: no reason of its own
;;   "slow"   sleeps 50 ms (time.sleep), then answers {}
;; _initialize logs "started" (to count instances) and listens on "constructor" as well, which
;; module.json does not declare.
(module
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "fault" (func $fault (param i32 i32) (result i32)))
  (import "wasm-bus" "log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hoard")                    ;; 5
  (data (i32.const 32) "refuse")                   ;; 6
  (data (i32.const 48) "fail")                     ;; 4
  (data (i32.const 64) "slow")                     ;; 4
  (data (i32.const 80) "constructor")              ;; 11
  (data (i32.const 96) "started")                  ;; 7
  (data (i32.const 112) "secret-module-xyz")       ;; 17
  (data (i32.const 144) "os")                      ;; 2
  (data (i32.const 160) "time.sleep")              ;; 10
  (data (i32.const 176) "{\"duration_ms\":50}")    ;; 18
  (data (i32.const 208) "{}")                      ;; 2
  ;; inbound handles waiting on their sleep, by sleep handle % 256, at 1024
  (func (export "_initialize")
    (drop (call $log (i32.const 3) (i32.const 96) (i32.const 7)))
    (drop (call $listen (i32.const 16) (i32.const 5)))
    (drop (call $listen (i32.const 32) (i32.const 6)))
    (drop (call $listen (i32.const 48) (i32.const 4)))
    (drop (call $listen (i32.const 64) (i32.const 4)))
    (drop (call $listen (i32.const 80) (i32.const 11))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 8192))
  (func (export "wasm_bus_free") (param i32 i32))
  ;; writes n as decimal digits at 512 and replies with them
  (func $answerNumber (param $h i32) (param $n i32)
    (local $at i32) (local $len i32)
    (local.set $at (i32.const 540))
    (loop $digits
      (local.set $at (i32.sub (local.get $at) (i32.const 1)))
      (i32.store8 (local.get $at) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digits (local.get $n)))
    (drop (call $reply (local.get $h) (i32.const 1) (local.get $at) (i32.sub (i32.const 540) (local.get $at)))))
  (func (export "wasm_bus_start") (param i32) (param $h i32) (param i32) (param $t i32) (param $tlen i32) (param $req i32) (param $len i32)
    (local $i i32) (local $n i32) (local $got i32) (local $sleep i32)
    (local.set $i (i32.load8_u (local.get $t)))
    ;; hoard: 'h'
    (if (i32.eq (local.get $i) (i32.const 104))
      (then
        (local.set $n (i32.mul (i32.sub (i32.load8_u (local.get $req)) (i32.const 48)) (i32.const 10000)))
        (local.set $i (i32.const 0))
        (block $done (loop $more
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (if (call $handle) (then (local.set $got (i32.add (local.get $got) (i32.const 1)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $more)))
        (call $answerNumber (local.get $h) (local.get $got))
        (return)))
    ;; refuse: 'r'
    (if (i32.eq (local.get $i) (i32.const 114))
      (then
        (drop (call $call (i32.const 0) (call $handle) (i32.const 0) (i32.const 1)
          (i32.const 112) (i32.const 17) (i32.const 16) (i32.const 5) (i32.const 208) (i32.const 2)))
        (drop (call $reply (local.get $h) (i32.const 1) (i32.const 208) (i32.const 2)))
        (return)))
    ;; fail: 'f'
    (if (i32.eq (local.get $i) (i32.const 102))
      (then (drop (call $fault (local.get $h) (i32.const 3))) (return)))
    ;; slow: 's'
    (if (i32.eq (local.get $i) (i32.const 115))
      (then
        (local.set $sleep (call $handle))
        (i32.store (i32.add (i32.const 1024) (i32.mul (i32.rem_u (local.get $sleep) (i32.const 256)) (i32.const 4))) (local.get $h))
        (drop (call $call (i32.const 0) (local.get $sleep) (i32.const 0) (i32.const 1)
          (i32.const 144) (i32.const 2) (i32.const 160) (i32.const 10) (i32.const 176) (i32.const 18)))
        (return)))
    (drop (call $reply (local.get $h) (i32.const 1) (i32.const 208) (i32.const 2))))
  (func (export "wasm_bus_finish") (param $s i32) (param i32 i32 i32)
    (drop (call $reply (i32.load (i32.add (i32.const 1024) (i32.mul (i32.rem_u (local.get $s) (i32.const 256)) (i32.const 4))))
      (i32.const 1) (i32.const 208) (i32.const 2))))
  (func (export "wasm_bus_error") (param i32 i32))
  (func (export "wasm_bus_drop") (param i32)))
