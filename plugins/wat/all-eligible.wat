;; Example plugin in hand-written WebAssembly text, for the `eligible` hook: every experiment
;; it is asked about is eligible (a touchpoint whose experiments need no plugin decision, e.g.
;; to record the plugin version with each exposure). It declares no ABI version, so it is an
;; ABI 1.0 module: the host gives every call a fresh instance.
;;
;; Built by scripts/build-plugins.sh with Debian's wabt: wat2wasm all-eligible.wat -o ...
;;
;; It relies on the input encoding ABI.md promises: compact JSON, so the list of experiments
;; is introduced by exactly `"experiments":[`, and its items are JSON strings it copies as they
;; are into the answer {"ok":{"<experiment>":true,...}}.
(module
  (import "touchstone" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)

  ;; 0..15: the pattern searched for; 16..: fixed strings written into the answer.
  (data (i32.const 0) "\"experiments\":[")         ;; 15 bytes
  (data (i32.const 16) "{\"ok\":{")                 ;; 7 bytes
  (data (i32.const 32) ":true")                     ;; 5 bytes
  (data (i32.const 48) "}}")                        ;; 2 bytes
  (data (i32.const 64) "{\"error\":\"no experiments list in the input\"}") ;; 45 bytes
  (data (i32.const 112) "all experiments eligible")  ;; 24 bytes

  ;; The next free byte: a bump allocator from 1 KiB up, growing memory when needed.
  (global $next (mut i32) (i32.const 1024))

  (func $alloc (export "touchstone_alloc") (param $len i32) (result i32)
    (local $start i32) (local $end i32)
    (local.set $start (global.get $next))
    (local.set $end (i32.add (local.get $start) (local.get $len)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq
              (memory.grow (i32.add
                (i32.div_u (i32.sub (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
                           (i32.const 65536))
                (i32.const 1)))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $next (local.get $end))
    (local.get $start))

  ;; Whether the 15-byte pattern at 0 starts at $at.
  (func $pattern_at (param $at i32) (result i32)
    (local $i i32)
    (block $mismatch
      (loop $each
        (br_if $mismatch (i32.ne (i32.load8_u (i32.add (local.get $at) (local.get $i)))
                                 (i32.load8_u (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $each (i32.lt_u (local.get $i) (i32.const 15))))
      (return (i32.const 1)))
    (i32.const 0))

  (func (export "eligible") (param $ptr i32) (param $len i32) (result i64)
    (local $at i32) (local $end i32) (local $out i32) (local $o i32) (local $byte i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    ;; Find `"experiments":[`.
    (local.set $at (local.get $ptr))
    (block $found
      (loop $search
        (if (i32.gt_u (i32.add (local.get $at) (i32.const 15)) (local.get $end))
          (then (return (i64.or (i64.shl (i64.const 64) (i64.const 32)) (i64.const 45)))))
        (br_if $found (call $pattern_at (local.get $at)))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $search)))
    (local.set $at (i32.add (local.get $at) (i32.const 15)))
    ;; The answer is at most the input's length plus the fixed parts.
    (local.set $out (call $alloc (i32.add (local.get $len) (i32.const 16))))
    (local.set $o (local.get $out))
    (memory.copy (local.get $o) (i32.const 16) (i32.const 7))
    (local.set $o (i32.add (local.get $o) (i32.const 7)))
    (block $done
      (loop $item
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $byte (i32.load8_u (local.get $at)))
        (br_if $done (i32.eq (local.get $byte) (i32.const 93)))   ;; ]
        (if (i32.eq (local.get $byte) (i32.const 44))              ;; ,
          (then
            (i32.store8 (local.get $o) (i32.const 44))
            (local.set $o (i32.add (local.get $o) (i32.const 1)))
            (local.set $at (i32.add (local.get $at) (i32.const 1)))
            (br $item)))
        ;; A string: copy it with its quotes, skipping over escaped characters.
        (i32.store8 (local.get $o) (local.get $byte))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (block $closed
          (loop $char
            (br_if $closed (i32.ge_u (local.get $at) (local.get $end)))
            (local.set $byte (i32.load8_u (local.get $at)))
            (i32.store8 (local.get $o) (local.get $byte))
            (local.set $o (i32.add (local.get $o) (i32.const 1)))
            (local.set $at (i32.add (local.get $at) (i32.const 1)))
            (if (i32.eq (local.get $byte) (i32.const 92))          ;; backslash: copy the next too
              (then
                (i32.store8 (local.get $o) (i32.load8_u (local.get $at)))
                (local.set $o (i32.add (local.get $o) (i32.const 1)))
                (local.set $at (i32.add (local.get $at) (i32.const 1)))
                (br $char)))
            (br_if $char (i32.ne (local.get $byte) (i32.const 34)))))  ;; until the closing "
        (memory.copy (local.get $o) (i32.const 32) (i32.const 5))
        (local.set $o (i32.add (local.get $o) (i32.const 5)))
        (br $item)))
    (memory.copy (local.get $o) (i32.const 48) (i32.const 2))
    (local.set $o (i32.add (local.get $o) (i32.const 2)))
    (call $log (i32.const 4) (i32.const 112) (i32.const 24))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32))
            (i64.extend_i32_u (i32.sub (local.get $o) (local.get $out)))))
)
