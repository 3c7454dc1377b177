;; Baseline for the bus round trip: the physical limit of a Wasm -> JS call
;; that copies the same bytes out of guest memory and back in. No bus, no
;; handles, no queue: run(n, ptr, len) calls the import n times in a loop.
(module
  (import "bench" "echo" (func $echo (param i32 i32 i32) (result i32)))
  (memory (export "memory") 3)
  ;; request at ptr, reply written at ptr + 0x10400 (past a 64 KiB payload)
  (func (export "run") (param $n i32) (param $ptr i32) (param $len i32) (result i32)
    (local $out i32)
    (local.set $out (i32.add (local.get $ptr) (i32.const 0x10400)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (drop (call $echo (local.get $ptr) (local.get $len) (local.get $out)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $out)))
