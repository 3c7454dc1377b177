;; Answers each call with its request's bytes as they came, in the request's format (its topic's):
;; by the topics' types (module.json) the edge writes a JSON or msgpack request's map to the
;; topic's format, and the same bytes back to the caller's, so a map's keys show as the edge wrote
;; them, there and back.
(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "floats")
  (data (i32.const 32) "bools")
  (data (i32.const 48) "pairs")
  (data (i32.const 64) "triples")
  (data (i32.const 80) "msgpack-floats")
  (data (i32.const 96) "msgpack-pairs")
  (func (export "_initialize")
    (drop (call $listen (i32.const 16) (i32.const 6)))
    (drop (call $listen (i32.const 32) (i32.const 5)))
    (drop (call $listen (i32.const 48) (i32.const 5)))
    (drop (call $listen (i32.const 64) (i32.const 7)))
    (drop (call $listen (i32.const 80) (i32.const 14)))
    (drop (call $listen (i32.const 96) (i32.const 13))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "wasm_bus_free") (param i32 i32))
  (func (export "wasm_bus_start") (param i32) (param $h i32) (param $format i32) (param i32) (param i32) (param $req i32) (param $len i32)
    (drop (call $reply (local.get $h) (local.get $format) (local.get $req) (local.get $len))))
  (func (export "wasm_bus_error") (param i32 i32))
  (func (export "wasm_bus_drop") (param i32)))
