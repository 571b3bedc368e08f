;; Hostile test plugin: answers experiment "a" twice, {"ok":{"a":true,"a":false}}. ABI.md
;; decides that such an answer is invalid (malformed_output) instead of letting one key win.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"ok\":{\"a\":true,\"a\":false}}") ;; 27 bytes
  (global $next (mut i32) (i32.const 1024))
  (func (export "touchstone_alloc") (param $len i32) (result i32)
    (local $start i32)
    (local.set $start (global.get $next))
    (global.set $next (i32.add (local.get $start) (local.get $len)))
    (local.get $start))
  (func (export "eligible") (param i32 i32) (result i64)
    (i64.const 27)))
