;; An outbound WebSocket through the bus: socket_builder.connect (kept alive,
;; with state_change and receive callbacks), web_socket.send under it, and a
;; drop of the connect call to close. The request of either topic is the
;; connect request itself ({"url": ...}), passed on as is.
(module
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "callback" (func $callback (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "fault" (func $fault (param i32 i32) (result i32)))
  (import "wasm-bus" "drop" (func $drop (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "roundtrip")               ;; 9
  (data (i32.const 32) "watch")                   ;; 5
  (data (i32.const 48) "os")                      ;; 2
  (data (i32.const 64) "socket_builder.connect")  ;; 22
  (data (i32.const 96) "web_socket.send")         ;; 15
  (data (i32.const 112) "state_change")           ;; 12
  (data (i32.const 128) "receive")                ;; 7
  (data (i32.const 144) "{\"data\":[104,105]}")   ;; 18
  (data (i32.const 176) "\"Opened\"")             ;; 8
  (data (i32.const 192) "\"Opening\"")            ;; 9
  (global $heap (mut i32) (i32.const 4096))
  (global $in (mut i32) (i32.const 0))
  (global $watch (mut i32) (i32.const 0))
  (global $conn (mut i32) (i32.const 0))
  (global $state (mut i32) (i32.const 0))
  (global $recv (mut i32) (i32.const 0))

  (func (export "_initialize")
    (drop (call $listen (i32.const 16) (i32.const 9)))
    (drop (call $listen (i32.const 32) (i32.const 5))))
  (func (export "wasm_bus_malloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.add (local.get $ptr) (local.get $len)))
    (local.get $ptr))
  (func (export "wasm_bus_free") (param i32 i32))

  (func $eq (param $a i32) (param $alen i32) (param $b i32) (param $blen i32) (result i32)
    (local $i i32)
    (if (i32.ne (local.get $alen) (local.get $blen)) (then (return (i32.const 0))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $alen)))
      (if (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i))) (i32.load8_u (i32.add (local.get $b) (local.get $i))))
        (then (return (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.const 1))

  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $fmt i32) (param $t i32) (param $tlen i32) (param $req i32) (param $len i32)
    (local $code i32)
    (global.set $in (local.get $h))
    (global.set $watch (call $eq (local.get $t) (local.get $tlen) (i32.const 32) (i32.const 5)))
    (global.set $conn (call $handle))
    (global.set $state (call $handle))
    (global.set $recv (call $handle))
    (drop (call $callback (global.get $conn) (global.get $state) (i32.const 112) (i32.const 12)))
    (drop (call $callback (global.get $conn) (global.get $recv) (i32.const 128) (i32.const 7)))
    (local.set $code (call $call (i32.const 0) (global.get $conn) (i32.const 1) (i32.const 1)
      (i32.const 48) (i32.const 2) (i32.const 64) (i32.const 22) (local.get $req) (local.get $len)))
    (if (local.get $code) (then (drop (call $fault (local.get $h) (local.get $code))))))

  (func (export "wasm_bus_finish") (param $h i32) (param $fmt i32) (param $ptr i32) (param $len i32)
    (if (i32.eq (local.get $h) (global.get $state))
      (then
        (if (call $eq (local.get $ptr) (local.get $len) (i32.const 192) (i32.const 9)) (then (return)))
        (if (call $eq (local.get $ptr) (local.get $len) (i32.const 176) (i32.const 8))
          (then
            (if (i32.eqz (global.get $watch))
              (then (drop (call $call (global.get $conn) (call $handle) (i32.const 0) (i32.const 1)
                (i32.const 48) (i32.const 2) (i32.const 96) (i32.const 15) (i32.const 144) (i32.const 18)))))
            (return)))
        ;; Closed or Failed
        (if (global.get $watch)
          (then
            (drop (call $reply (global.get $in) (local.get $fmt) (local.get $ptr) (local.get $len)))
            (drop (call $drop (global.get $conn)))))
        (return)))
    (if (i32.eq (local.get $h) (global.get $recv))
      (then
        (if (i32.eqz (global.get $watch))
          (then
            (drop (call $reply (global.get $in) (local.get $fmt) (local.get $ptr) (local.get $len)))
            (drop (call $drop (global.get $conn))))))))

  (func (export "wasm_bus_error") (param $h i32) (param $code i32)
    (drop (call $fault (global.get $in) (local.get $code))))
  (func (export "wasm_bus_drop") (param i32)))
