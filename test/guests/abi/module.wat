;; ABI conformance guest. Each topic exercises one import, correctly or not;
;; test/abi.test.ts asserts the code or HTTP error each one gets, and that the
;; next call to the same module still works.
(module
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "fault" (func $fault (param i32 i32) (result i32)))
  (import "wasm-bus" "drop" (func $drop (param i32) (result i32)))
  (import "wasm-bus" "log" (func $log (param i32 i32 i32) (result i32)))
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (memory (export "memory") 2)

  ;; constants: topic names and payloads
  (data (i32.const 16)  "ok")                 ;; 2
  (data (i32.const 32)  "wild-pointer")       ;; 12
  (data (i32.const 48)  "past-memory")        ;; 11
  (data (i32.const 64)  "unknown-handle")     ;; 14
  (data (i32.const 80)  "double-drop")        ;; 11
  (data (i32.const 96)  "reply-never-made")   ;; 16
  (data (i32.const 112) "trap")               ;; 4
  (data (i32.const 128) "grow")               ;; 4
  (data (i32.const 144) "loop")               ;; 4
  (data (i32.const 160) "no-reply")           ;; 8
  (data (i32.const 176) "sleep")              ;; 5
  (data (i32.const 192) "call-unknown")       ;; 12
  (data (i32.const 208) "log-flood")          ;; 9
  (data (i32.const 224) "bad-utf8")           ;; 8
  (data (i32.const 256) "os")                 ;; 2
  (data (i32.const 272) "time.sleep")         ;; 10
  (data (i32.const 288) "{\"duration_ms\":20}") ;; 18
  (data (i32.const 320) "nope")               ;; 4
  (data (i32.const 336) "\ff\fe")             ;; 2: not UTF-8
  (data (i32.const 352) "listened")           ;; 8
  (data (i32.const 368) "a line of log text that repeats") ;; 31
  (data (i32.const 400) "not-listened")       ;; 12
  (data (i32.const 416) "thread")             ;; 6

  (global $heap (mut i32) (i32.const 65536))
  ;; the inbound call waiting on an outbound one (topic "sleep")
  (global $waiting (mut i32) (i32.const 0))
  (global $waiting_req (mut i32) (i32.const 0))
  (global $waiting_len (mut i32) (i32.const 0))
  (global $waiting_fmt (mut i32) (i32.const 0))

  ;; Bus imports need the instance's memory, which the start section runs without.
  (func $init (export "_initialize")
    ;; every topic but not-listened
    (drop (call $listen (i32.const 16) (i32.const 2)))
    (drop (call $listen (i32.const 32) (i32.const 12)))
    (drop (call $listen (i32.const 48) (i32.const 11)))
    (drop (call $listen (i32.const 64) (i32.const 14)))
    (drop (call $listen (i32.const 80) (i32.const 11)))
    (drop (call $listen (i32.const 96) (i32.const 16)))
    (drop (call $listen (i32.const 112) (i32.const 4)))
    (drop (call $listen (i32.const 128) (i32.const 4)))
    (drop (call $listen (i32.const 144) (i32.const 4)))
    (drop (call $listen (i32.const 160) (i32.const 8)))
    (drop (call $listen (i32.const 176) (i32.const 5)))
    (drop (call $listen (i32.const 192) (i32.const 12)))
    (drop (call $listen (i32.const 208) (i32.const 9)))
    (drop (call $listen (i32.const 224) (i32.const 8)))
    (drop (call $listen (i32.const 416) (i32.const 6))))

  ;; A bump allocator that refuses anything over 4 MiB, to stand for a failed allocation.
  (func (export "wasm_bus_malloc") (param $len i32) (result i32)
    (local $ptr i32) (local $end i32)
    (if (i32.gt_u (local.get $len) (i32.const 4194304)) (then (return (i32.const 0))))
    (local.set $ptr (global.get $heap))
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.eq (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1))) (i32.const -1))
        (then (return (i32.const 0))))))
    (global.set $heap (local.get $end))
    (local.get $ptr))
  (func (export "wasm_bus_free") (param i32 i32))

  (func $eq (param $a i32) (param $alen i32) (param $b i32) (param $blen i32) (result i32)
    (local $i i32)
    (if (i32.ne (local.get $alen) (local.get $blen)) (then (return (i32.const 0))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $alen)))
        (if (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i))) (i32.load8_u (i32.add (local.get $b) (local.get $i))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 1))

  ;; Passes a status on as the call's fault, so the test sees the code the import returned.
  (func $check (param $handle i32) (param $code i32)
    (if (local.get $code)
      (then (drop (call $fault (local.get $handle) (local.get $code))))
      (else (drop (call $fault (local.get $handle) (i32.const 17))))))

  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $fmt i32) (param $t i32) (param $tlen i32) (param $req i32) (param $len i32)
    (local $x i32) (local $i i32)
    (if (call $eq (local.get $t) (local.get $tlen) (i32.const 16) (i32.const 2))
      (then (drop (call $reply (local.get $h) (local.get $fmt) (local.get $req) (local.get $len))) (return)))
    (if (call $eq (local.get $t) (local.get $tlen) (i32.const 32) (i32.const 12))
      (then (call $check (local.get $h) (call $reply (local.get $h) (i32.const 1) (i32.const -16) (i32.const 8))) (return)))
    (if (call $eq (local.get $t) (local.get $tlen) (i32.const 48) (i32.const 11))
      (then (call $check (local.get $h) (call $reply (local.get $h) (i32.const 1) (i32.const 100) (i32.mul (memory.size) (i32.const 65536)))) (return)))
    (if (call $eq (local.get $t) (local.get $tlen) (i32.const 64) (i32.const 14))
      (then (call $check (local.get $h) (call $reply (i32.const 987654) (i32.const 1) (local.get $req) (local.get $len))) (return)))
    (if (call $eq (local.get $t) (local.get $tlen) (i32.const 80) (i32.const 11))
      (then
        (local.set $x (call $handle))
        (if (call $drop (local.get $x)) (then (call $check (local.get $h) (i32.const 0)) (return)))
        (call $check (local.get $h) (call $drop (local.get $x))) (return)))
    (if (call $eq (local.get $t) (local.get $tlen) (i32.const 96) (i32.const 16))
      (then (call $check (local.get $h) (call $reply (call $handle) (i32.const 1) (local.get $req) (local.get $len))) (return)))
    (if (call $eq (local.get $t) (local.get $tlen) (i32.const 112) (i32.const 4))
      (then unreachable))
    (if (call $eq (local.get $t) (local.get $tlen) (i32.const 128) (i32.const 4))
      ;; grow past limits.memoryPages: the build declared it as the maximum, so memory.grow fails here (-1)
      (then
        (if (i32.eq (memory.grow (i32.const 100)) (i32.const -1))
          (then (drop (call $fault (local.get $h) (i32.const 16))) (return)))
        (drop (call $reply (local.get $h) (local.get $fmt) (local.get $req) (local.get $len))) (return)))
    (if (call $eq (local.get $t) (local.get $tlen) (i32.const 144) (i32.const 4))
      (then (loop $forever (br $forever))))
    (if (call $eq (local.get $t) (local.get $tlen) (i32.const 160) (i32.const 8))
      (then (return)))
    (if (call $eq (local.get $t) (local.get $tlen) (i32.const 176) (i32.const 5))
      (then
        (global.set $waiting (local.get $h))
        (global.set $waiting_req (local.get $req))
        (global.set $waiting_len (local.get $len))
        (global.set $waiting_fmt (local.get $fmt))
        (local.set $x (call $call (i32.const 0) (call $handle) (i32.const 0) (i32.const 1)
            (i32.const 256) (i32.const 2) (i32.const 272) (i32.const 10) (i32.const 288) (i32.const 18)))
        (if (local.get $x) (then (drop (call $fault (local.get $h) (local.get $x)))))
        (return)))
    (if (call $eq (local.get $t) (local.get $tlen) (i32.const 192) (i32.const 12))
      (then
        (call $check (local.get $h)
          (call $call (i32.const 0) (call $handle) (i32.const 0) (i32.const 1)
            (i32.const 320) (i32.const 4) (i32.const 16) (i32.const 2) (local.get $req) (local.get $len)))
        (return)))
    (if (call $eq (local.get $t) (local.get $tlen) (i32.const 208) (i32.const 9))
      (then
        (loop $more
          (drop (call $log (i32.const 3) (i32.const 368) (i32.const 31)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $more (i32.lt_u (local.get $i) (i32.const 5000))))
        (drop (call $reply (local.get $h) (local.get $fmt) (local.get $req) (local.get $len)))
        (return)))
    ;; wasi-threads: a negative result means no thread; pass it on as Unsupported
    (if (call $eq (local.get $t) (local.get $tlen) (i32.const 416) (i32.const 6))
      (then
        (if (i32.lt_s (call $thread_spawn (i32.const 0)) (i32.const 0))
          (then (call $check (local.get $h) (i32.const 11)))
          (else (drop (call $reply (local.get $h) (local.get $fmt) (local.get $req) (local.get $len)))))
        (return)))
    (if (call $eq (local.get $t) (local.get $tlen) (i32.const 224) (i32.const 8))
      (then (call $check (local.get $h) (call $listen (i32.const 336) (i32.const 2))) (return)))
    unreachable)

  ;; "sleep": the timer fired; answer with the original request.
  (func (export "wasm_bus_finish") (param $h i32) (param $fmt i32) (param $ptr i32) (param $len i32)
    (drop (call $reply (global.get $waiting) (global.get $waiting_fmt) (global.get $waiting_req) (global.get $waiting_len))))
  (func (export "wasm_bus_error") (param $h i32) (param $code i32)
    (drop (call $fault (global.get $waiting) (local.get $code))))
  (func (export "wasm_bus_drop") (param $h i32)))
