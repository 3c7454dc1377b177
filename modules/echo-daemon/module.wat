;; echo-daemon: a command that becomes a server. _start listens on "echo" and
;; calls fork(), so the process outlives _start; each call is answered with
;; {"echo":<request>,"served":<n>}, where n counts the calls this instance
;; served: state that lives as long as the process does.
(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "fork" (func $fork (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "fault" (func $fault (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 2)
  (data (i32.const 16) "echo")            ;; 4
  (data (i32.const 32) "{\"echo\":")      ;; 8
  (data (i32.const 48) ",\"served\":")    ;; 10
  (global $served (mut i32) (i32.const 0))
  (global $heap (mut i32) (i32.const 65536))

  (func (export "_start")
    (drop (call $listen (i32.const 16) (i32.const 4)))
    ;; without a process to keep it, there is nothing to serve: exit 1
    (if (call $fork) (then (call $proc_exit (i32.const 1)))))

  ;; A bump allocator that starts over when it would run out: each request is
  ;; answered before the next arrives.
  (func $alloc (param $len i32) (result i32)
    (local $ptr i32)
    (if (i32.gt_u (i32.add (global.get $heap) (local.get $len)) (i32.const 131072)) (then (global.set $heap (i32.const 65536))))
    (if (i32.gt_u (local.get $len) (i32.const 32768)) (then (return (i32.const 0))))
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.add (local.get $ptr) (local.get $len)))
    (local.get $ptr))
  (func (export "wasm_bus_malloc") (param $len i32) (result i32) (call $alloc (local.get $len)))
  (func (export "wasm_bus_free") (param i32 i32))

  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $fmt i32) (param $t i32) (param $tlen i32) (param $req i32) (param $len i32)
    (local $out i32) (local $at i32) (local $n i32) (local $digits i32) (local $i i32)
    (global.set $served (i32.add (global.get $served) (i32.const 1)))
    (local.set $out (call $alloc (i32.add (local.get $len) (i32.const 32))))
    (if (i32.eqz (local.get $out)) (then (drop (call $fault (local.get $h) (i32.const 20))) (return)))
    (memory.copy (local.get $out) (i32.const 32) (i32.const 8))
    (memory.copy (i32.add (local.get $out) (i32.const 8)) (local.get $req) (local.get $len))
    (local.set $at (i32.add (i32.add (local.get $out) (i32.const 8)) (local.get $len)))
    (memory.copy (local.get $at) (i32.const 48) (i32.const 10))
    (local.set $at (i32.add (local.get $at) (i32.const 10)))
    ;; the count's digits, most significant first
    (local.set $n (global.get $served))
    (local.set $digits (i32.const 1))
    (local.set $i (local.get $n))
    (block $done (loop $count
      (local.set $i (i32.div_u (local.get $i) (i32.const 10)))
      (br_if $done (i32.eqz (local.get $i)))
      (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
      (br $count)))
    (local.set $i (local.get $digits))
    (loop $digit
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store8 (i32.add (local.get $at) (local.get $i)) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digit (local.get $i)))
    (local.set $at (i32.add (local.get $at) (local.get $digits)))
    (i32.store8 (local.get $at) (i32.const 125))
    (drop (call $reply (local.get $h) (i32.const 1) (local.get $out) (i32.sub (i32.add (local.get $at) (i32.const 1)) (local.get $out)))))
  (func (export "wasm_bus_finish") (param i32 i32 i32 i32))
  (func (export "wasm_bus_error") (param i32 i32))
  (func (export "wasm_bus_drop") (param i32)))
