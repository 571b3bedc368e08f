;; Hostile test plugin: touchstone_alloc always answers 0, which ABI.md defines as "could not
;; allocate" (bad_alloc).
(module
  (memory (export "memory") 1)
  (func (export "touchstone_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "eligible") (param i32 i32) (result i64) (i64.const 0)))
