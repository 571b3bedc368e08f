;; Hostile test plugin: a start function that never finishes. It would run at every
;; instantiation, so the host refuses the module at load (upload and plugin check alike).
(module
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 1024))
  (func (export "touchstone_alloc") (param $len i32) (result i32)
    (local $start i32)
    (local.set $start (global.get $next))
    (global.set $next (i32.add (local.get $start) (local.get $len)))
    (local.get $start))
  (func $spin (loop $forever (br $forever)))
  (start $spin)
  (func (export "eligible") (param i32 i32) (result i64) (i64.const 0)))
