;; Bench guest for the snapshot section: 1 MiB of live heap (wasm-bus ABI v1, written by hand).
;;
;; Memory: page 0 holds the topics, the request buffer and nothing else; pages 1-16 are the heap
;; (1 MiB); page 17 is spare. Every topic is raw. A call writes nothing but what it says: the host
;; copies its topic and request to the request buffer, and a reply is read from where its value
;; already is, so "touch" repeated with the same request changes exactly one page.
;;   "fill"   request = [seed: u32]. Writes all 16 heap pages (word i = (seed + i) * 2654435761 | 1,
;;            never 0); reply = [seed: u32].
;;   "touch"  request = [page: u32] (1-16). Adds 1 to the first word of that page: a call that
;;            changes one word of the heap; reply = [that word: u32].
;;   "sum"    request = anything. reply = [the heap's words summed mod 2^32: u32][calls: u32], calls
;;            being how many calls the instance has served (a mutable global): what a restored
;;            instance must answer as the original did.
(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "fault" (func $fault (param i32 i32) (result i32)))
  (memory (export "memory") 18)
  (data (i32.const 16) "fill")
  (data (i32.const 32) "touch")
  (data (i32.const 48) "sum")
  (global $calls (mut i32) (i32.const 0))

  (func (export "_initialize")
    (drop (call $listen (i32.const 16) (i32.const 4)))
    (drop (call $listen (i32.const 32) (i32.const 5)))
    (drop (call $listen (i32.const 48) (i32.const 3))))

  ;; the request buffer: up to 1 KiB at offset 1024 of page 0
  (func (export "wasm_bus_malloc") (param $len i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $len) (i32.const 1024))
      (then (i32.const 0))
      (else (i32.const 1024))))
  (func (export "wasm_bus_free") (param i32 i32))

  (func $fill (param $seed i32)
    (local $i i32)
    (loop $words
      (i32.store
        (i32.add (i32.const 0x10000) (i32.shl (local.get $i) (i32.const 2)))
        (i32.or (i32.mul (i32.add (local.get $seed) (local.get $i)) (i32.const 2654435761)) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $words (i32.lt_u (local.get $i) (i32.const 262144)))))

  (func $touch (param $page i32) (result i32)
    (local $at i32)
    (local $v i32)
    (local.set $at (i32.shl (local.get $page) (i32.const 16)))
    (local.set $v (i32.add (i32.load (local.get $at)) (i32.const 1)))
    (i32.store (local.get $at) (local.get $v))
    (local.get $v))

  (func $sum (result i32)
    (local $at i32)
    (local $s i32)
    (local.set $at (i32.const 0x10000))
    (loop $words
      (local.set $s (i32.add (local.get $s) (i32.load (local.get $at))))
      (local.set $at (i32.add (local.get $at) (i32.const 4)))
      (br_if $words (i32.lt_u (local.get $at) (i32.const 0x110000))))
    (local.get $s))

  (func $answer (param $h i32) (param $at i32) (param $len i32)
    (drop (call $reply (local.get $h) (i32.const 0) (local.get $at) (local.get $len))))

  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $format i32)
        (param $topic i32) (param $topicLen i32) (param $req i32) (param $reqLen i32)
    (local $arg i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (if (i32.ge_u (local.get $reqLen) (i32.const 4)) (then (local.set $arg (i32.load (local.get $req)))))
    (if (i32.eq (local.get $topicLen) (i32.const 4))
      (then
        (call $fill (local.get $arg))
        (return (call $answer (local.get $h) (local.get $req) (i32.const 4)))))
    (if (i32.eq (local.get $topicLen) (i32.const 5))
      (then
        ;; BadRequest (12) for a page outside the heap
        (if (i32.or (i32.lt_u (local.get $arg) (i32.const 1)) (i32.gt_u (local.get $arg) (i32.const 16)))
          (then (drop (call $fault (local.get $h) (i32.const 12))) (return)))
        (drop (call $touch (local.get $arg)))
        (return (call $answer (local.get $h) (i32.shl (local.get $arg) (i32.const 16)) (i32.const 4)))))
    ;; sum: [sum][calls] at offset 512 (page 0)
    (i32.store (i32.const 512) (call $sum))
    (i32.store (i32.const 516) (global.get $calls))
    (call $answer (local.get $h) (i32.const 512) (i32.const 8))))
