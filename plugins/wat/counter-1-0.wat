;; Test plugin: counts its calls in a global and in memory. `payload` answers
;; {"ok":{"a":N}} with N the calls this instance has served, so a test can see which calls
;; share an instance: a module built for ABI 1.1 serves one request's eligible and payload
;; from one instance (N = 2), a 1.0 module gets a fresh instance per call (N = 1), and no
;; request ever sees another's instance.
(module
  (memory (export "memory") 1)
  (global $calls (mut i32) (i32.const 0))
  (data (i32.const 0) "{\"ok\":{}}")          ;; 9 bytes
  (data (i32.const 32) "{\"ok\":{\"a\":0}}")  ;; 14 bytes, the digit at 43
  (global $next (mut i32) (i32.const 1024))
  (func (export "touchstone_alloc") (param $len i32) (result i32)
    (local $start i32)
    (local.set $start (global.get $next))
    (global.set $next (i32.add (local.get $start) (local.get $len)))
    (local.get $start))

  (func (export "eligible") (param i32 i32) (result i64)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i64.const 9))
  (func (export "payload") (param i32 i32) (result i64)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.store8 (i32.const 43) (i32.add (i32.const 48) (global.get $calls)))
    (i64.or (i64.shl (i64.const 32) (i64.const 32)) (i64.const 14))))
