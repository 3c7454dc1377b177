;; spawn-chain: each process spawns one more of itself, so a chain is as deep as the host allows.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "os")
  (data (i32.const 32) "process.spawn")                                ;; 13
  (data (i32.const 64) "{\"module\":\"spawn-chain\",\"args\":[],\"env\":{}}") ;; 43
  (data (i32.const 128) "spawning\n")                                  ;; 9
  (data (i32.const 144) "refused\n")                                   ;; 8
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "wasm_bus_free") (param i32 i32))
  (func (export "_start")
    (local $status i32)
    (call $print (i32.const 128) (i32.const 9))
    ;; kept alive (keepalive 1), json (1): the child lives as long as this call
    (local.set $status (call $call (i32.const 0) (call $handle) (i32.const 1) (i32.const 1)
      (i32.const 16) (i32.const 2) (i32.const 32) (i32.const 13) (i32.const 64) (i32.const 43)))
    (if (local.get $status)
      (then (call $print (i32.const 144) (i32.const 8)) (call $proc_exit (local.get $status))))))
