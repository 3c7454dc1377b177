;; The JSON codec's byte-array kernel (src/codec/json-kernel.ts): long arrays of 0-255 written as
;; serde_json's compact digits (`encode`) and read back (`decode`), in Wasm with SIMD, where
;; JavaScript takes a few nanoseconds a byte each way. The build writes it to build/json-bytes.wasm
;; and the Worker hands it to the codec (src/worker-runtime.ts); without it the codec does the same
;; in JavaScript (json-bytes-write.ts, json-bytes-read.ts), byte for byte the same text and bytes.
;;
;; Memory: the tables below, filled by json-kernel.ts when it instantiates this; from 576 KiB on
;; (KERNEL_BASE), what the caller puts there. Grows up to 256 pages (16 MiB), never past: larger
;; payloads are left to JavaScript.
;;   0     u32[256]  each byte's digits and a comma, little-endian (bytes past the comma unused)
;;   1024  u8[256]   how many of those are the byte's: 2, 3 or 4
;;   5376  u8[16]    x * 10 for x 0-9, then 0
;;   5392  u8[16]    by the hundreds' index (0 for a two-digit number, 4-13 for the hundreds x 0-9,
;;                   15 for a one-digit number): x * 100 (mod 256), else 0
;;   5408  u8[16]    by the same index, the check bias: a lane's tens-and-ones plus this has its high
;;                   bit set when the number is a byte as serde_json writes it. Two digits: 118 (10
;;                   and over: no leading zero); the hundreds x = 1: 128; x = 2: 200 (up to 55; more
;;                   wraps past 255 to under 44); x = 0 (a leading zero) or x >= 3: 0; one digit: 128
;;   8224  v128[11]  constants (the data segment at the end)
;;   16384 u8[256][16] by which of four bytes are over 9 (bits 0-3) and over 99 (bits 4-7), the
;;                   shuffle that keeps each one's digits and comma from its four slots "hto,"
;;                   (rows with a byte over 99 but not over 9 unused)
;;   65536 u8[65536][8] for each 16-bit mask with no two neighbouring bits set, the indices of its set
;;                   bits in order (0x80 after them); the other masks' rows are unused (zeros).
;;                   Filled here, at instantiation ($squeeze)
(module
  (memory (export "memory") 9 256)
  ;; the bytes the last `decode` read
  (global $count (export "count") (mut i32) (i32.const 0))
  ;; how much of the last `decode`'s text its blocks read (the rest the scalar loop did): for the
  ;; tests, which hold a valid array to be read in blocks all but its first and last few numbers
  (global $blocked (export "blocked") (mut i32) (i32.const 0))

  ;; Writes the n bytes at $src as "d," "dd," "ddd," from $dst on; returns the end (after the last
  ;; comma). Writes up to 8 bytes past that end. $src may lie from $dst + 4n + 7 on (where the
  ;; digits could end): what a block writes stays short of the bytes not yet read.
  ;;
  ;; 16 bytes at a time: of each byte x, q = x / 10 (x * 205 >> 11 for 0-255) and h = x / 100
  ;; (x * 41 >> 12: from x, not q, so that the two multiplies need not wait on each other), then its four slots "hto," as two u16 "ht" = q * 256 - h * 2559 and
  ;; "o," = x - q * 10 (plus the ASCII), interleaved; then each four bytes' slots squeezed to their
  ;; digits by a shuffle picked by their widths. A table of each byte's text (the tail below)
  ;; takes two loads, a store and a dependent add for every byte; this a few vector operations.
  ;; The widths are two saturating adds, an unpack and a bitmask for two groups of four: a
  ;; base-3 index of each four by a 32-bit multiply, read out lane by lane, took 12 vector
  ;; operations of the 42 a block took (the loop is bound by how many the core's vector pipes
  ;; take), these 6. The constants come from memory (the data below): V8 would rebuild each
  ;; v128.const inside the loop, where a loaded value stays in a register.
  (func (export "encode") (param $src i32) (param $n i32) (param $dst i32) (result i32)
    (local $end i32) (local $end16 i32) (local $b i32) (local $i i32) (local $w01 i32) (local $w23 i32)
    (local $x v128) (local $lo v128) (local $q v128) (local $h v128) (local $ht v128) (local $oc v128)
    (local $over9 v128) (local $over99 v128)
    (local $c205 v128) (local $c41 v128) (local $c2559 v128) (local $c10 v128) (local $c3030 v128) (local $c2c30 v128)
    (local $c118 v128) (local $c28 v128)
    (local.set $c205 (v128.load offset=8224 (i32.const 0)))
    (local.set $c41 (v128.load offset=8240 (i32.const 0)))
    (local.set $c2559 (v128.load offset=8256 (i32.const 0)))
    (local.set $c10 (v128.load offset=8272 (i32.const 0)))
    (local.set $c3030 (v128.load offset=8288 (i32.const 0)))
    (local.set $c2c30 (v128.load offset=8304 (i32.const 0)))
    (local.set $c118 (v128.load offset=8352 (i32.const 0)))
    (local.set $c28 (v128.load offset=8384 (i32.const 0)))
    (local.set $end (i32.add (local.get $src) (local.get $n)))
    (local.set $end16 (i32.sub (local.get $end) (i32.const 15)))
    (block $sixteen (loop $l16
      (br_if $sixteen (i32.ge_s (local.get $src) (local.get $end16)))
      (local.set $x (v128.load (local.get $src)))
      ;; each four bytes' widths as 8 bits: which are over 9 (x + 118, saturating, has its high bit
      ;; set), then which are over 99 (x + 28): the two masks' four lanes of each side by side (one
      ;; unpack of 32-bit lanes), so that one bitmask gives two of them. Each times 16 is its
      ;; shuffle's offset; the digits it keeps, 8 + its bits set.
      (local.set $over9 (i8x16.add_sat_u (local.get $x) (local.get $c118)))
      (local.set $over99 (i8x16.add_sat_u (local.get $x) (local.get $c28)))
      (local.set $w01 (i32.shl (i8x16.bitmask
        (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $over9) (local.get $over99))) (i32.const 4)))
      (local.set $w23 (i32.shl (i8x16.bitmask
        (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $over9) (local.get $over99))) (i32.const 4)))
      ;; bytes 0-7, then 8-15, as u16: loaded again, widened as they load (one instruction, where
      ;; widening the high half of $x takes three)
      (local.set $lo (v128.load8x8_u (local.get $src)))
      (local.set $q (i16x8.shr_u (i16x8.mul (local.get $lo) (local.get $c205)) (i32.const 11)))
      (local.set $h (i16x8.shr_u (i16x8.mul (local.get $lo) (local.get $c41)) (i32.const 12)))
      (local.set $ht (i16x8.sub (i16x8.add (i16x8.shl (local.get $q) (i32.const 8)) (local.get $c3030))
        (i16x8.mul (local.get $h) (local.get $c2559))))
      (local.set $oc (i16x8.add (i16x8.sub (local.get $lo) (i16x8.mul (local.get $q) (local.get $c10))) (local.get $c2c30)))
      (local.set $i (i32.and (local.get $w01) (i32.const 0xff0)))
      (v128.store align=1 (local.get $dst)
        (i8x16.relaxed_swizzle (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $ht) (local.get $oc)) (v128.load offset=16384 (local.get $i))))
      (local.set $dst (i32.add (local.get $dst) (i32.add (i32.popcnt (local.get $i)) (i32.const 8))))
      (local.set $i (i32.and (i32.shr_u (local.get $w01) (i32.const 8)) (i32.const 0xff0)))
      (v128.store align=1 (local.get $dst)
        (i8x16.relaxed_swizzle (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $ht) (local.get $oc)) (v128.load offset=16384 (local.get $i))))
      (local.set $dst (i32.add (local.get $dst) (i32.add (i32.popcnt (local.get $i)) (i32.const 8))))
      (local.set $lo (v128.load8x8_u offset=8 (local.get $src)))
      (local.set $q (i16x8.shr_u (i16x8.mul (local.get $lo) (local.get $c205)) (i32.const 11)))
      (local.set $h (i16x8.shr_u (i16x8.mul (local.get $lo) (local.get $c41)) (i32.const 12)))
      (local.set $ht (i16x8.sub (i16x8.add (i16x8.shl (local.get $q) (i32.const 8)) (local.get $c3030))
        (i16x8.mul (local.get $h) (local.get $c2559))))
      (local.set $oc (i16x8.add (i16x8.sub (local.get $lo) (i16x8.mul (local.get $q) (local.get $c10))) (local.get $c2c30)))
      (local.set $i (i32.and (local.get $w23) (i32.const 0xff0)))
      (v128.store align=1 (local.get $dst)
        (i8x16.relaxed_swizzle (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $ht) (local.get $oc)) (v128.load offset=16384 (local.get $i))))
      (local.set $dst (i32.add (local.get $dst) (i32.add (i32.popcnt (local.get $i)) (i32.const 8))))
      (local.set $i (i32.and (i32.shr_u (local.get $w23) (i32.const 8)) (i32.const 0xff0)))
      (v128.store align=1 (local.get $dst)
        (i8x16.relaxed_swizzle (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $ht) (local.get $oc)) (v128.load offset=16384 (local.get $i))))
      (local.set $dst (i32.add (local.get $dst) (i32.add (i32.popcnt (local.get $i)) (i32.const 8))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (br $l16)))
    ;; the last few, a byte at a time: its text from the table, then its width kept
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
    (global.set $blocked (i32.const 0))
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
  ;; x * 100 of a) by swizzle, whose index with its high bit set (a comma minus '0' is 252, the
  ;; 0x80 after a shuffle's indices) gives 0. The relaxed swizzle (one instruction where the
  ;; strict one takes three) gives 0 for those on every platform; it differs only for indices
  ;; 16-127, which come from bytes that are neither digit nor comma, and those lanes fail the
  ;; block whatever their value.
  ;;
  ;; Each byte is checked as c, digit or comma (the block's last byte as the next block's first
  ;; c: until then it ends no number here). The loop is bound by how many instructions a block
  ;; takes (V8 issues them about as fast as the core's vector pipes take them), so each check is
  ;; as few as it can be. The hundreds' index is a - ',' (0 for a comma: two digits, 4-13 for a
  ;; digit), or 15 where b is a comma (one digit), so that every number finds its own entry in the
  ;; bias table, which then says in one add whether it is a byte as serde_json writes it (no
  ;; leading zero of two digits or three, not over 255). A lane ending a number is fine when c is
  ;; a digit and the bias says so; any other lane when c is a comma, or a digit with a comma
  ;; among b and a (no four digits in a row): one lane select picks between the two (relaxed:
  ;; one instruction, and the same on every platform for a selector that is a comparison's mask,
  ;; all ones or all zeros a lane). "c is no digit" is the high bit of one saturating add; and
  ;; the numbers are squeezed out of the whole block by one shuffle from a table of every 16-bit
  ;; comma mask (512 KiB, of which the masks with no two commas side by side are used: two side
  ;; by side fail the block before). The constants come from memory, as in encode.
  (func $blocks (param $j i32) (param $limit i32) (param $k i32) (result i32)
    (local $c v128) (local $b v128) (local $a v128)
    (local $term v128) (local $cmc v128) (local $cmb v128) (local $cma v128)
    (local $dc v128) (local $idx v128) (local $ones v128) (local $ok v128)
    (local $zero v128) (local $comma v128) (local $c118 v128) (local $c15 v128) (local $t10 v128) (local $t100 v128) (local $over v128)
    (local $m i32) (local $out i32) (local $p i32) (local $last i32)
    (local.set $out (local.get $k))
    (local.set $c118 (v128.load offset=8352 (i32.const 0)))
    (local.set $c15 (v128.load offset=8368 (i32.const 0)))
    (local.set $zero (v128.load offset=8320 (i32.const 0)))
    (local.set $comma (v128.load offset=8336 (i32.const 0)))
    (local.set $t10 (v128.load offset=5376 (i32.const 0)))
    (local.set $t100 (v128.load offset=5392 (i32.const 0)))
    (local.set $over (v128.load offset=5408 (i32.const 0)))
    ;; $p: three bytes before the block, so that every load's offset is positive; $last: the last
    ;; $p whose block ends inside the text
    (local.set $p (i32.sub (local.get $j) (i32.const 3)))
    (local.set $last (i32.sub (local.get $limit) (i32.const 19)))
    (block $done (loop $block
      ;; two blocks a turn (V8's check and moves at each turn of a loop cost about a tenth of a
      ;; block), so both must end inside the text
      (br_if $done (i32.gt_s (local.get $p) (i32.sub (local.get $last) (i32.const 16))))
      (local.set $a (v128.load (local.get $p)))
      (local.set $b (v128.load offset=1 (local.get $p)))
      (local.set $c (v128.load offset=2 (local.get $p)))
      (local.set $term (i8x16.eq (v128.load offset=3 (local.get $p)) (local.get $comma)))
      (local.set $cmc (i8x16.eq (local.get $c) (local.get $comma)))
      (local.set $cmb (i8x16.eq (local.get $b) (local.get $comma)))
      (local.set $cma (i8x16.eq (local.get $a) (local.get $comma)))
      ;; ones and tens (no tens where b is a comma); the hundreds' index, 15 where b is a comma
      (local.set $dc (i8x16.sub (local.get $c) (local.get $zero)))
      (local.set $ones (i8x16.add (local.get $dc)
        (i8x16.relaxed_swizzle (local.get $t10) (i8x16.sub (local.get $b) (local.get $zero)))))
      (local.set $idx (i8x16.min_u (v128.or (i8x16.sub (local.get $a) (local.get $comma)) (local.get $cmb)) (local.get $c15)))
      ;; fine: where t is a comma, c a digit (c - '0' + 118 under 128) and the ones and tens plus
      ;; the bias with the high bit set; elsewhere, c a digit with a comma among b and a, or c a
      ;; comma
      (local.set $ok (v128.or
        (v128.andnot
          (i8x16.relaxed_laneselect
            (i8x16.add (local.get $ones) (i8x16.relaxed_swizzle (local.get $over) (local.get $idx)))
            (v128.or (local.get $cmb) (local.get $cma))
            (local.get $term))
          (i8x16.add_sat_u (local.get $dc) (local.get $c118)))
        (v128.andnot (local.get $cmc) (local.get $term))))
      (br_if $done (i32.ne (i8x16.bitmask (local.get $ok)) (i32.const 0xffff)))
      ;; the numbers ending in this block, in order: the lanes its comma mask picks
      (local.set $ones (i8x16.add (local.get $ones) (i8x16.relaxed_swizzle (local.get $t100) (local.get $idx))))
      (local.set $m (i8x16.bitmask (local.get $term)))
      (v128.store64_lane 0 (local.get $k)
        (i8x16.relaxed_swizzle (local.get $ones) (v128.load64_zero offset=65536 (i32.shl (local.get $m) (i32.const 3)))))
      (local.set $k (i32.add (local.get $k) (i32.popcnt (local.get $m))))
      ;; the same for the next block
      (local.set $a (v128.load offset=16 (local.get $p)))
      (local.set $b (v128.load offset=17 (local.get $p)))
      (local.set $c (v128.load offset=18 (local.get $p)))
      (local.set $term (i8x16.eq (v128.load offset=19 (local.get $p)) (local.get $comma)))
      (local.set $cmc (i8x16.eq (local.get $c) (local.get $comma)))
      (local.set $cmb (i8x16.eq (local.get $b) (local.get $comma)))
      (local.set $cma (i8x16.eq (local.get $a) (local.get $comma)))
      (local.set $dc (i8x16.sub (local.get $c) (local.get $zero)))
      (local.set $ones (i8x16.add (local.get $dc)
        (i8x16.relaxed_swizzle (local.get $t10) (i8x16.sub (local.get $b) (local.get $zero)))))
      (local.set $idx (i8x16.min_u (v128.or (i8x16.sub (local.get $a) (local.get $comma)) (local.get $cmb)) (local.get $c15)))
      (local.set $ok (v128.or
        (v128.andnot
          (i8x16.relaxed_laneselect
            (i8x16.add (local.get $ones) (i8x16.relaxed_swizzle (local.get $over) (local.get $idx)))
            (v128.or (local.get $cmb) (local.get $cma))
            (local.get $term))
          (i8x16.add_sat_u (local.get $dc) (local.get $c118)))
        (v128.andnot (local.get $cmc) (local.get $term))))
      ;; (the first block's numbers are written: stop after them, at this block)
      (if (i32.ne (i8x16.bitmask (local.get $ok)) (i32.const 0xffff))
        (then
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br $done)))
      (local.set $ones (i8x16.add (local.get $ones) (i8x16.relaxed_swizzle (local.get $t100) (local.get $idx))))
      (local.set $m (i8x16.bitmask (local.get $term)))
      (v128.store64_lane 0 (local.get $k)
        (i8x16.relaxed_swizzle (local.get $ones) (v128.load64_zero offset=65536 (i32.shl (local.get $m) (i32.const 3)))))
      (local.set $k (i32.add (local.get $k) (i32.popcnt (local.get $m))))
      (local.set $p (i32.add (local.get $p) (i32.const 32)))
      (br $block)))
    (global.set $blocked (i32.sub (i32.add (local.get $p) (i32.const 3)) (local.get $j)))
    ;; back to the start of the number the blocks stopped in (after the last comma they read)
    (local.set $j (i32.add (local.get $p) (i32.const 3)))
    (block $start (loop $back
      (br_if $start (i32.eq (i32.load8_u (i32.sub (local.get $j) (i32.const 1))) (i32.const 44)))
      (local.set $j (i32.sub (local.get $j) (i32.const 1)))
      (br $back)))
    (global.set $count (i32.sub (local.get $k) (local.get $out)))
    (local.get $j))

  ;; decode's table of comma masks, filled when the module is instantiated: each mask with no two
  ;; neighbouring bits set gets 0x80 in its 8 bytes, then its set bits' indices from the lowest,
  ;; one a turn (a loop over the 65,536 masks in JavaScript took up to 4 ms the first time, before
  ;; V8 compiled it; this takes well under one)
  (func $squeeze
    (local $mask i32) (local $rest i32) (local $at i32)
    (loop $each
      (if (i32.eqz (i32.and (local.get $mask) (i32.shr_u (local.get $mask) (i32.const 1))))
        (then
          (local.set $at (i32.add (i32.const 65536) (i32.shl (local.get $mask) (i32.const 3))))
          (i64.store (local.get $at) (i64.const 0x8080808080808080))
          (local.set $rest (local.get $mask))
          (block $done (loop $bits
            (br_if $done (i32.eqz (local.get $rest)))
            (i32.store8 (local.get $at) (i32.ctz (local.get $rest)))
            (local.set $at (i32.add (local.get $at) (i32.const 1)))
            (local.set $rest (i32.and (local.get $rest) (i32.sub (local.get $rest) (i32.const 1))))
            (br $bits)))))
      (local.set $mask (i32.add (local.get $mask) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $mask) (i32.const 65536)))))
  (start $squeeze)

  ;; encode's constants, each over 16 bytes: u16 205, 41, 2559, 10, "00", "0,"; then decode's: '0',
  ;; ',', u8 118 (encode's too), u8 15; then encode's u8 28
  (data (i32.const 8224)
    "\cd\00\cd\00\cd\00\cd\00\cd\00\cd\00\cd\00\cd\00"
    "\29\00\29\00\29\00\29\00\29\00\29\00\29\00\29\00"
    "\ff\09\ff\09\ff\09\ff\09\ff\09\ff\09\ff\09\ff\09"
    "\0a\00\0a\00\0a\00\0a\00\0a\00\0a\00\0a\00\0a\00"
    "0000000000000000"
    "0,0,0,0,0,0,0,0,"
    "0000000000000000"
    ",,,,,,,,,,,,,,,,"
    "\76\76\76\76\76\76\76\76\76\76\76\76\76\76\76\76"
    "\0f\0f\0f\0f\0f\0f\0f\0f\0f\0f\0f\0f\0f\0f\0f\0f"
    "\1c\1c\1c\1c\1c\1c\1c\1c\1c\1c\1c\1c\1c\1c\1c\1c")
)
