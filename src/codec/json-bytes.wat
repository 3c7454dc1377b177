;; The JSON codec's byte-array kernel (src/codec/json-kernel.ts): long arrays of 0-255 written as
;; serde_json's compact digits (`encode`) and read back (`decode`), in Wasm with SIMD, where
;; JavaScript takes a few nanoseconds a byte each way. The build writes it to build/json-bytes.wasm
;; and the Worker hands it to the codec (src/worker-runtime.ts); without it the codec does the same
;; in JavaScript (json-bytes-write.ts, json-bytes-read.ts), byte for byte the same text and bytes.
;;
;; Memory: the tables below, filled by json-kernel.ts when it instantiates this; from 64 KiB on,
;; what the caller puts there. Grows up to 256 pages (16 MiB), never past: larger payloads are left
;; to JavaScript.
;;   0     u32[256]  each byte's digits and a comma, little-endian (bytes past the comma unused)
;;   1024  u8[256]   how many of those are the byte's: 2, 3 or 4
;;   1280  u8[256][8] for each 8-bit mask, the indices of its set bits in order (0x80 after them)
;;   3328  u8[256][8] the same plus 8 (the high half of a 16-lane mask)
;;   5376  u8[16]    x * 10 for x 0-9, then 0
;;   5392  u8[16]    x * 100 (mod 256) for x 0-9, then 0
;;   5408  u8[16]    over-255 bias: a lane's tens-and-ones plus this has its high bit set when the
;;                   hundreds x make the number over 255 (x = 2: 72, over 55; x >= 3: 128), else 0
(module
  (memory (export "memory") 2 256)
  ;; the bytes the last `decode` read
  (global $count (export "count") (mut i32) (i32.const 0))

  ;; Writes the n bytes at $src as "d," "dd," "ddd," from $dst on; returns the end (after the last
  ;; comma). Writes up to 3 bytes past that end.
  (func (export "encode") (param $src i32) (param $n i32) (param $dst i32) (result i32)
    (local $end i32) (local $end4 i32) (local $b i32)
    (local.set $end (i32.add (local.get $src) (local.get $n)))
    (local.set $end4 (i32.sub (local.get $end) (i32.const 3)))
    (block $four (loop $l4
      (br_if $four (i32.ge_s (local.get $src) (local.get $end4)))
      (local.set $b (i32.load8_u (local.get $src)))
      (i32.store align=1 (local.get $dst) (i32.load (i32.shl (local.get $b) (i32.const 2))))
      (local.set $dst (i32.add (local.get $dst) (i32.load8_u offset=1024 (local.get $b))))
      (local.set $b (i32.load8_u offset=1 (local.get $src)))
      (i32.store align=1 (local.get $dst) (i32.load (i32.shl (local.get $b) (i32.const 2))))
      (local.set $dst (i32.add (local.get $dst) (i32.load8_u offset=1024 (local.get $b))))
      (local.set $b (i32.load8_u offset=2 (local.get $src)))
      (i32.store align=1 (local.get $dst) (i32.load (i32.shl (local.get $b) (i32.const 2))))
      (local.set $dst (i32.add (local.get $dst) (i32.load8_u offset=1024 (local.get $b))))
      (local.set $b (i32.load8_u offset=3 (local.get $src)))
      (i32.store align=1 (local.get $dst) (i32.load (i32.shl (local.get $b) (i32.const 2))))
      (local.set $dst (i32.add (local.get $dst) (i32.load8_u offset=1024 (local.get $b))))
      (local.set $src (i32.add (local.get $src) (i32.const 4)))
      (br $l4)))
    (block $one (loop $l1
      (br_if $one (i32.ge_u (local.get $src) (local.get $end)))
      (local.set $b (i32.load8_u (local.get $src)))
      (i32.store align=1 (local.get $dst) (i32.load (i32.shl (local.get $b) (i32.const 2))))
      (local.set $dst (i32.add (local.get $dst) (i32.load8_u offset=1024 (local.get $b))))
      (local.set $src (i32.add (local.get $src) (i32.const 1)))
      (br $l1)))
    (local.get $dst))

  ;; Reads the array whose first byte after `[` is at $j, the text ending at $limit, into $out on:
  ;; serde_json's compact form only (1-3 digits without a leading zero, 0-255, each followed by a
  ;; comma, the last by `]`), at least 32 of them. Returns the index after `]` (the count in
  ;; $count), or -1 for anything else (whitespace, another number, too few), which the caller
  ;; leaves to JavaScript. Writes up to 8 bytes past the last byte read.
  (func (export "decode") (param $j i32) (param $limit i32) (param $out i32) (result i32)
    (local $k i32) (local $d i32) (local $c i32) (local $v i32) (local $from i32)
    (local.set $k (local.get $out))
    ;; the blocks look 3 bytes back: they start once that is inside the array
    (local.set $from (i32.add (local.get $j) (i32.const 3)))
    (loop $number
      ;; one number, then its comma or `]`
      (if (i32.ge_u (local.get $j) (local.get $limit)) (then (return (i32.const -1))))
      (local.set $d (i32.sub (i32.load8_u (local.get $j)) (i32.const 48)))
      (if (i32.gt_u (local.get $d) (i32.const 9)) (then (return (i32.const -1))))
      (local.set $v (local.get $d))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (if (i32.ge_u (local.get $j) (local.get $limit)) (then (return (i32.const -1))))
      (local.set $c (i32.load8_u (local.get $j)))
      (if (i32.le_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 9))
        (then
          (if (i32.eqz (local.get $d)) (then (return (i32.const -1))))
          (local.set $v (i32.add (i32.mul (local.get $v) (i32.const 10)) (i32.sub (local.get $c) (i32.const 48))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (if (i32.ge_u (local.get $j) (local.get $limit)) (then (return (i32.const -1))))
          (local.set $c (i32.load8_u (local.get $j)))
          (if (i32.le_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 9))
            (then
              (local.set $v (i32.add (i32.mul (local.get $v) (i32.const 10)) (i32.sub (local.get $c) (i32.const 48))))
              (if (i32.gt_u (local.get $v) (i32.const 255)) (then (return (i32.const -1))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (if (i32.ge_u (local.get $j) (local.get $limit)) (then (return (i32.const -1))))
              (local.set $c (i32.load8_u (local.get $j)))))))
      (i32.store8 (local.get $k) (local.get $v))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (if (i32.eq (local.get $c) (i32.const 93))
        (then
          (global.set $count (i32.sub (local.get $k) (local.get $out)))
          (if (i32.lt_u (global.get $count) (i32.const 32)) (then (return (i32.const -1))))
          (return (local.get $j))))
      (if (i32.ne (local.get $c) (i32.const 44)) (then (return (i32.const -1))))
      (if (i32.and (i32.ne (local.get $from) (i32.const 0)) (i32.ge_u (local.get $j) (local.get $from)))
        (then
          (local.set $from (i32.const 0))
          (local.set $j (call $blocks (local.get $j) (local.get $limit) (local.get $k)))
          (local.set $k (i32.add (local.get $k) (global.get $count)))))
      (br $number))
    unreachable)

  ;; 16 bytes at a time from $j (the start of a number, the 3 bytes before it digits and commas of
  ;; the same array) into $k on, as long as a block holds only digits and commas that make valid
  ;; numbers. Returns the start of the number the blocks stopped in (the numbers before it written,
  ;; their count in $count); the scalar loop above takes it from there, and finds the end or the
  ;; fault itself.
  ;;
  ;; Each lane is a byte t with the three before it (c, b, a). At a comma t, the number is c, or
  ;; b c when b is no comma, or a b c when neither is: its value from tables (x * 10 of b,
  ;; x * 100 of a) by swizzle, whose index with its high bit set (a comma minus '0' is 252, a
  ;; lane or-ed with a mask 255, the 0x80 after a shuffle's indices) gives 0. The relaxed swizzle
  ;; (one instruction where the strict one takes three) gives 0 for those on every platform; it
  ;; differs only for indices 16-127, which come from bytes that are neither digit nor comma, and
  ;; those lanes fail the block whatever their value.
  (func $blocks (param $j i32) (param $limit i32) (param $k i32) (result i32)
    (local $t v128) (local $c v128) (local $b v128) (local $a v128)
    (local $term v128) (local $cmc v128) (local $cmb v128) (local $cma v128)
    (local $idx v128) (local $ones v128) (local $v v128) (local $err v128)
    (local $zero v128) (local $comma v128) (local $nine v128) (local $t10 v128) (local $t100 v128) (local $over v128)
    (local $m i32) (local $out i32)
    (local.set $out (local.get $k))
    (local.set $zero (i8x16.splat (i32.const 48)))
    (local.set $comma (i8x16.splat (i32.const 44)))
    (local.set $nine (i8x16.splat (i32.const 57)))
    (local.set $t10 (v128.load offset=5376 (i32.const 0)))
    (local.set $t100 (v128.load offset=5392 (i32.const 0)))
    (local.set $over (v128.load offset=5408 (i32.const 0)))
    (block $done (loop $block
      (br_if $done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $limit)))
      (local.set $t (v128.load (local.get $j)))
      (local.set $c (v128.load (i32.sub (local.get $j) (i32.const 1))))
      (local.set $b (v128.load (i32.sub (local.get $j) (i32.const 2))))
      (local.set $a (v128.load (i32.sub (local.get $j) (i32.const 3))))
      (local.set $term (i8x16.eq (local.get $t) (local.get $comma)))
      (local.set $cmc (i8x16.eq (local.get $c) (local.get $comma)))
      (local.set $cmb (i8x16.eq (local.get $b) (local.get $comma)))
      (local.set $cma (i8x16.eq (local.get $a) (local.get $comma)))
      ;; ones and tens; the hundreds' index is past 15 where b is a comma
      (local.set $ones (i8x16.add (i8x16.sub (local.get $c) (local.get $zero))
        (i8x16.relaxed_swizzle (local.get $t10) (i8x16.sub (local.get $b) (local.get $zero)))))
      (local.set $idx (v128.or (i8x16.sub (local.get $a) (local.get $zero)) (local.get $cmb)))
      (local.set $v (i8x16.add (local.get $ones) (i8x16.relaxed_swizzle (local.get $t100) (local.get $idx))))
      ;; a lane's high bit: t neither digit nor comma; t, c, b, a all digits (four in a row); at a
      ;; comma, a comma before it (no digit), a leading zero (the first of two or three digits), or
      ;; a number over 255
      (local.set $err (v128.or (v128.or
        (v128.and (local.get $term) (v128.or (v128.or
          (local.get $cmc)
          (v128.andnot (i8x16.eq (v128.bitselect (local.get $b) (local.get $a) (local.get $cma)) (local.get $zero)) (local.get $cmb)))
          (i8x16.add (local.get $ones) (i8x16.relaxed_swizzle (local.get $over) (local.get $idx)))))
        (v128.not (v128.or (v128.or (local.get $term) (local.get $cmc)) (v128.or (local.get $cmb) (local.get $cma)))))
        (v128.andnot (v128.or (i8x16.lt_s (local.get $t) (local.get $zero)) (i8x16.gt_s (local.get $t) (local.get $nine))) (local.get $term))))
      (br_if $done (i8x16.bitmask (local.get $err)))
      ;; the numbers ending in this block, in order: each half's lanes picked by its comma mask
      (local.set $m (i8x16.bitmask (local.get $term)))
      (v128.store64_lane 0 (local.get $k)
        (i8x16.relaxed_swizzle (local.get $v) (v128.load64_zero offset=1280 (i32.shl (i32.and (local.get $m) (i32.const 255)) (i32.const 3)))))
      (local.set $k (i32.add (local.get $k) (i32.popcnt (i32.and (local.get $m) (i32.const 255)))))
      (v128.store64_lane 0 (local.get $k)
        (i8x16.relaxed_swizzle (local.get $v) (v128.load64_zero offset=3328 (i32.shl (i32.shr_u (local.get $m) (i32.const 8)) (i32.const 3)))))
      (local.set $k (i32.add (local.get $k) (i32.popcnt (i32.shr_u (local.get $m) (i32.const 8)))))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (br $block)))
    ;; back to the start of the number the blocks stopped in (after the last comma they read)
    (block $start (loop $back
      (br_if $start (i32.eq (i32.load8_u (i32.sub (local.get $j) (i32.const 1))) (i32.const 44)))
      (local.set $j (i32.sub (local.get $j) (i32.const 1)))
      (br $back)))
    (global.set $count (i32.sub (local.get $k) (local.get $out)))
    (local.get $j))
)
