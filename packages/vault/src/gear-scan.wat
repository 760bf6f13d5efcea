;; The FastCDC gear loop of chunker.ts as WebAssembly (V8 runs it ~2.3x faster than
;; the same loop in JavaScript). Memory: the gear table (256 x i32) at 0, the data at
;; 1024 and up. scan(i, e, mask) rolls h over bytes [i, e) and returns the index after
;; the first byte where (h & mask) == 0, or -1; h is kept in the exported global.
;; Compiled bytes live in gear-scan.ts; test/units.test.ts checks they match this file.
(module
  (memory (export "mem") 1)
  (global $h (export "h") (mut i32) (i32.const 0))
  (func (export "scan") (param $i i32) (param $e i32) (param $mask i32) (result i32)
    (local $h i32)
    global.get $h
    local.set $h
    block $done
      local.get $i
      local.get $e
      i32.ge_u
      br_if $done
      loop $l
        local.get $h
        i32.const 1
        i32.shl
        local.get $i
        i32.load8_u
        i32.const 2
        i32.shl
        i32.load
        i32.add
        local.tee $h
        local.get $mask
        i32.and
        i32.eqz
        if
          local.get $h
          global.set $h
          local.get $i
          i32.const 1
          i32.add
          return
        end
        local.get $i
        i32.const 1
        i32.add
        local.tee $i
        local.get $e
        i32.lt_u
        br_if $l
      end
    end
    local.get $h
    global.set $h
    i32.const -1
  )
)
