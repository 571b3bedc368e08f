;; Test plugin: tries to carry state from one request to the next. Every hook first reads
;; what an earlier call could have left — a mutable global, a byte in the data segment, a
;; byte far past it, the memory's size in pages — then changes all four (and grows memory
;; by a page). `payload` answers {"ok":{"a":"GDHP"}} with the four values it read, one digit
;; each: a call that starts from the module's own state reads "0a01" ('a' is the data
;; segment's byte). Declares ABI 1.1, so one request's eligible and payload share an
;; instance (payload then reads "1b12"); no other request may ever read anything but "0a01".
(module
  (memory (export "memory") 1)
  (global $touched (mut i32) (i32.const 0))
  (global $next (mut i32) (i32.const 1024))
  (data (i32.const 0) "{\"ok\":{}}")                  ;; 9 bytes: eligible's answer
  (data (i32.const 32) "{\"ok\":{\"a\":\"????\"}}")   ;; 19 bytes, the digits at 44..47
  (data (i32.const 100) "a")                          ;; the data segment's byte
  (func (export "touchstone_alloc") (param $len i32) (result i32)
    (local $start i32)
    (local.set $start (global.get $next))
    (global.set $next (i32.add (local.get $start) (local.get $len)))
    (local.get $start))
  (func (export "touchstone_abi_version") (result i32) (i32.const 101))
  ;; Writes what this call read into the answer at 44..47, then changes it all.
  (func $read_then_touch
    (i32.store8 (i32.const 44) (i32.add (i32.const 48) (global.get $touched)))
    (i32.store8 (i32.const 45) (i32.load8_u (i32.const 100)))
    (i32.store8 (i32.const 46) (i32.add (i32.const 48) (i32.load8_u (i32.const 60000))))
    (i32.store8 (i32.const 47) (i32.add (i32.const 48) (memory.size)))
    (global.set $touched (i32.add (global.get $touched) (i32.const 1)))
    (i32.store8 (i32.const 100) (i32.add (i32.load8_u (i32.const 100)) (i32.const 1)))
    (i32.store8 (i32.const 60000) (i32.add (i32.load8_u (i32.const 60000)) (i32.const 1)))
    (drop (memory.grow (i32.const 1))))
  (func (export "eligible") (param i32 i32) (result i64)
    (call $read_then_touch)
    (i64.const 9))
  (func (export "payload") (param i32 i32) (result i64)
    (call $read_then_touch)
    (i64.or (i64.shl (i64.const 32) (i64.const 32)) (i64.const 19))))
