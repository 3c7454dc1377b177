;; poke [page, value]: memory[page * 65536] = value, growing memory to page + 1 pages first; answers [value].
;; peek [page]: answers [memory[page * 65536]], or [0] where the page is past memory's end.
;; Everything it keeps is in its memory's pages (one byte each), so a snapshot that misses a
;; page shows as a peek that answers 0.
(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "poke")
  (data (i32.const 32) "peek")
  (func (export "_initialize")
    (drop (call $listen (i32.const 16) (i32.const 4)))
    (drop (call $listen (i32.const 32) (i32.const 4))))
  ;; the request lands in a scratch area of page 0, whose first byte is not a poked one
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "wasm_bus_free") (param i32 i32))
  (func (export "wasm_bus_start") (param i32) (param $h i32) (param i32) (param $t i32) (param $tlen i32) (param $req i32) (param $len i32)
    (local $page i32) (local $at i32)
    (local.set $page (i32.load8_u (local.get $req)))
    (local.set $at (i32.mul (local.get $page) (i32.const 65536)))
    (if (i32.eq (i32.load8_u offset=1 (local.get $t)) (i32.const 111)) ;; "poke"
      (then
        (if (i32.ge_u (local.get $page) (memory.size))
          (then (drop (memory.grow (i32.sub (i32.add (local.get $page) (i32.const 1)) (memory.size))))))
        (i32.store8 (local.get $at) (i32.load8_u offset=1 (local.get $req)))))
    (i32.store8 (i32.const 200)
      (if (result i32) (i32.lt_u (local.get $page) (memory.size)) (then (i32.load8_u (local.get $at))) (else (i32.const 0))))
    (drop (call $reply (local.get $h) (i32.const 0) (i32.const 200) (i32.const 1))))
  (func (export "wasm_bus_error") (param i32 i32))
  (func (export "wasm_bus_drop") (param i32)))
