;; Hostile test plugin: touchstone_alloc returns an address far outside its one-page memory
;; (a wild pointer): the host reports bad_alloc and names the address.
(module
  (memory (export "memory") 1)
  (func (export "touchstone_alloc") (param i32) (result i32) (i32.const -256))
  (func (export "eligible") (param i32 i32) (result i64) (i64.const 0)))
