;; waPC guest (https://wapc.io protocol, as @wapc/host implements it), written
;; by hand with the same logic and the same fixed buffers as bus-echo:
;;   operation "echo"   request = payload; one __host_call("default", "os",
;;                      "echo.echo", payload), the host's reply is the response.
;;   operation "bench"  request = [n: u32 LE][payload]; n __host_call round
;;                      trips in a loop, the last reply is the response.
;; The host writes the operation name at 16 and the request at 1024
;; (__guest_request); replies are read back to the same place.
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__guest_error" (func $guest_error (param i32 i32)))
  (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wapc" "__host_response_len" (func $host_response_len (result i32)))
  (import "wapc" "__host_response" (func $host_response (param i32)))
  (memory (export "memory") 3)
  (data (i32.const 512) "default")
  (data (i32.const 528) "os")
  (data (i32.const 544) "echo.echo")
  (data (i32.const 576) "host call failed")

  ;; one round trip: the payload at ptr goes out, the reply comes back to ptr; returns its length or -1
  (func $roundtrip (param $ptr i32) (param $len i32) (result i32)
    (if (i32.eqz (call $host_call (i32.const 512) (i32.const 7) (i32.const 528) (i32.const 2)
                   (i32.const 544) (i32.const 9) (local.get $ptr) (local.get $len)))
      (then (return (i32.const -1))))
    (call $host_response (local.get $ptr))
    (call $host_response_len))

  (func (export "__guest_call") (param $opLen i32) (param $reqLen i32) (result i32)
    (local $n i32)
    (local $len i32)
    (call $guest_request (i32.const 16) (i32.const 1024))
    (if (i32.eq (local.get $opLen) (i32.const 4))
      (then
        (local.set $len (call $roundtrip (i32.const 1024) (local.get $reqLen)))
        (if (i32.lt_s (local.get $len) (i32.const 0))
          (then (call $guest_error (i32.const 576) (i32.const 16)) (return (i32.const 0))))
        (call $guest_response (i32.const 1024) (local.get $len))
        (return (i32.const 1))))
    (local.set $n (i32.load (i32.const 1024)))
    (local.set $len (i32.sub (local.get $reqLen) (i32.const 4)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $len (call $roundtrip (i32.const 1028) (local.get $len)))
        (if (i32.lt_s (local.get $len) (i32.const 0))
          (then (call $guest_error (i32.const 576) (i32.const 16)) (return (i32.const 0))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (call $guest_response (i32.const 1028) (local.get $len))
    (i32.const 1)))
