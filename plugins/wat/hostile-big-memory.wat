;; Hostile test plugin: 300 pages (18.75 MiB) of initial memory, most of it stack (the first
;; mutable i32 global is the stack pointer, as lld emits it), above the 16 MiB limit: refused
;; at load with a message in pages and MiB that says how to link instead.
(module
  (memory (export "memory") 300)
  (global $stack_pointer (mut i32) (i32.const 19660800))
  (global $next (mut i32) (i32.const 1024))
  (func (export "touchstone_alloc") (param $len i32) (result i32)
    (local $start i32)
    (local.set $start (global.get $next))
    (global.set $next (i32.add (local.get $start) (local.get $len)))
    (local.get $start))
  (func (export "eligible") (param i32 i32) (result i64) (i64.const 0)))
