;; Extism plug-in (https://extism.org, the kernel ABI of "extism:host/env" as
;; @extism/extism implements it), written by hand the way the PDKs move bytes:
;; input and host memory are read 8 bytes at a time (input_load_u64 / load_u64,
;; load_u8 for the tail), written with store_u64 / store_u8, and a host function
;; takes and returns an offset into host memory. Same logic and fixed guest
;; buffers as bus-echo:
;;   export "echo"   input = payload; one call to the host function
;;                   extism:host/user echo, whose reply is the output.
;;   export "bench"  input = [n: u32 LE][payload]; n host-function round trips
;;                   in a loop, the last reply is the output.
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "free" (func $free (param i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "load_u64" (func $load_u64 (param i64) (result i64)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/user" "echo" (func $host_echo (param i64) (result i64)))
  (memory (export "memory") 3)

  ;; the input, whole, to guest memory at dst; returns its length
  (func $read_input (param $dst i32) (result i32)
    (local $len i64) (local $i i64)
    (local.set $len (call $input_length))
    (block $done
      (loop $words
        (br_if $done (i64.gt_u (i64.add (local.get $i) (i64.const 8)) (local.get $len)))
        (i64.store (i32.add (local.get $dst) (i32.wrap_i64 (local.get $i))) (call $input_load_u64 (local.get $i)))
        (local.set $i (i64.add (local.get $i) (i64.const 8)))
        (br $words)))
    (block $end
      (loop $bytes
        (br_if $end (i64.ge_u (local.get $i) (local.get $len)))
        (i32.store8 (i32.add (local.get $dst) (i32.wrap_i64 (local.get $i))) (call $input_load_u8 (local.get $i)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $bytes)))
    (i32.wrap_i64 (local.get $len)))

  ;; guest memory [src, src+len) to host memory at offset off
  (func $store (param $off i64) (param $src i32) (param $len i32)
    (local $i i32)
    (block $done
      (loop $words
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 8)) (local.get $len)))
        (call $store_u64 (i64.add (local.get $off) (i64.extend_i32_u (local.get $i)))
          (i64.load (i32.add (local.get $src) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $words)))
    (block $end
      (loop $bytes
        (br_if $end (i32.ge_u (local.get $i) (local.get $len)))
        (call $store_u8 (i64.add (local.get $off) (i64.extend_i32_u (local.get $i)))
          (i32.load8_u (i32.add (local.get $src) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $bytes))))

  ;; host memory at offset off, len bytes, to guest memory at dst
  (func $load (param $off i64) (param $dst i32) (param $len i32)
    (local $i i32)
    (block $done
      (loop $words
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 8)) (local.get $len)))
        (i64.store (i32.add (local.get $dst) (local.get $i))
          (call $load_u64 (i64.add (local.get $off) (i64.extend_i32_u (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $words)))
    (block $end
      (loop $bytes
        (br_if $end (i32.ge_u (local.get $i) (local.get $len)))
        (i32.store8 (i32.add (local.get $dst) (local.get $i))
          (call $load_u8 (i64.add (local.get $off) (i64.extend_i32_u (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $bytes))))

  ;; one round trip: the payload at ptr goes out, the reply comes back to ptr; returns its length
  (func $roundtrip (param $ptr i32) (param $len i32) (result i32)
    (local $off i64) (local $res i64) (local $rlen i32)
    (local.set $off (call $alloc (i64.extend_i32_u (local.get $len))))
    (call $store (local.get $off) (local.get $ptr) (local.get $len))
    (local.set $res (call $host_echo (local.get $off)))
    (local.set $rlen (i32.wrap_i64 (call $length (local.get $res))))
    (call $load (local.get $res) (local.get $ptr) (local.get $rlen))
    (call $free (local.get $off))
    (call $free (local.get $res))
    (local.get $rlen))

  (func $output (param $ptr i32) (param $len i32)
    (local $off i64)
    (local.set $off (call $alloc (i64.extend_i32_u (local.get $len))))
    (call $store (local.get $off) (local.get $ptr) (local.get $len))
    (call $output_set (local.get $off) (i64.extend_i32_u (local.get $len))))

  (func (export "echo") (result i32)
    (local $len i32)
    (local.set $len (call $read_input (i32.const 1024)))
    (local.set $len (call $roundtrip (i32.const 1024) (local.get $len)))
    (call $output (i32.const 1024) (local.get $len))
    (i32.const 0))

  (func (export "bench") (result i32)
    (local $n i32) (local $len i32)
    (local.set $len (i32.sub (call $read_input (i32.const 1024)) (i32.const 4)))
    (local.set $n (i32.load (i32.const 1024)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $len (call $roundtrip (i32.const 1028) (local.get $len)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (call $output (i32.const 1028) (local.get $len))
    (i32.const 0)))
