;; Test plugin: declares ABI 1.2 (touchstone_abi_version returns 102), a minor version this
;; host does not know: refused at load.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"ok\":{}}")
  (global $next (mut i32) (i32.const 1024))
  (func (export "touchstone_alloc") (param $len i32) (result i32)
    (local $start i32)
    (local.set $start (global.get $next))
    (global.set $next (i32.add (local.get $start) (local.get $len)))
    (local.get $start))
  (func (export "touchstone_abi_version") (result i32) (i32.const 102))
  (func (export "eligible") (param i32 i32) (result i64) (i64.const 9)))
