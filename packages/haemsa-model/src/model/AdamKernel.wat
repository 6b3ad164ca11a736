;; Adam's update of n float32 weights in place, with the arithmetic of tfjs's Adam kernels:
;;   m' = m·β1 + g·(1-β1)                v' = v·β2 + (g·g)·(1-β2)
;;   w' = ((m' / (1-β1ᵗ)) / (sqrt(v' / (1-β2ᵗ)) + ε)) · (-lr) + w
;; every operation rounded to float32 (four lanes at a time, then one by one for the rest).
;; w, m, v, g are byte offsets of float32 arrays in the imported memory (the kernel's own, or the
;; heap of tfjs's wasm backend: `WasmAdam`).
(module
  (import "env" "memory" (memory 1))
  (func (export "adam")
    (param $w i32) (param $m i32) (param $v i32) (param $g i32) (param $n i32)
    (param $b1 f32) (param $b2 f32) (param $ob1 f32) (param $ob2 f32)
    (param $oa1 f32) (param $oa2 f32) (param $eps f32) (param $mlr f32)
    (local $o i32) (local $end4 i32) (local $end i32)
    (local $gv v128) (local $mv v128) (local $vv v128)
    (local $gs f32) (local $ms f32) (local $vs f32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $end4 (i32.and (local.get $end) (i32.const -16)))
    (block $done4
      (loop $four
        (br_if $done4 (i32.ge_u (local.get $o) (local.get $end4)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $o))))
        (local.set $mv
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $o))) (f32x4.splat (local.get $b1)))
            (f32x4.mul (local.get $gv) (f32x4.splat (local.get $ob1)))))
        (local.set $vv
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $o))) (f32x4.splat (local.get $b2)))
            (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (f32x4.splat (local.get $ob2)))))
        (v128.store (i32.add (local.get $m) (local.get $o)) (local.get $mv))
        (v128.store (i32.add (local.get $v) (local.get $o)) (local.get $vv))
        (v128.store (i32.add (local.get $w) (local.get $o))
          (f32x4.add
            (f32x4.mul
              (f32x4.div
                (f32x4.div (local.get $mv) (f32x4.splat (local.get $oa1)))
                (f32x4.add (f32x4.sqrt (f32x4.div (local.get $vv) (f32x4.splat (local.get $oa2)))) (f32x4.splat (local.get $eps))))
              (f32x4.splat (local.get $mlr)))
            (v128.load (i32.add (local.get $w) (local.get $o)))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $four)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $o))))
        (local.set $ms
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $m) (local.get $o))) (local.get $b1))
            (f32.mul (local.get $gs) (local.get $ob1))))
        (local.set $vs
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $v) (local.get $o))) (local.get $b2))
            (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $ob2))))
        (f32.store (i32.add (local.get $m) (local.get $o)) (local.get $ms))
        (f32.store (i32.add (local.get $v) (local.get $o)) (local.get $vs))
        (f32.store (i32.add (local.get $w) (local.get $o))
          (f32.add
            (f32.mul
              (f32.div
                (f32.div (local.get $ms) (local.get $oa1))
                (f32.add (f32.sqrt (f32.div (local.get $vs) (local.get $oa2))) (local.get $eps)))
              (local.get $mlr))
            (f32.load (i32.add (local.get $w) (local.get $o)))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $one))))
  ;; w ← w·keep for n float32 weights (decoupled weight decay)
  (func (export "scale") (param $w i32) (param $n i32) (param $keep f32)
    (local $o i32) (local $end4 i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $end4 (i32.and (local.get $end) (i32.const -16)))
    (block $done4
      (loop $four
        (br_if $done4 (i32.ge_u (local.get $o) (local.get $end4)))
        (v128.store (i32.add (local.get $w) (local.get $o))
          (f32x4.mul (v128.load (i32.add (local.get $w) (local.get $o))) (f32x4.splat (local.get $keep))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $four)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
        (f32.store (i32.add (local.get $w) (local.get $o))
          (f32.mul (f32.load (i32.add (local.get $w) (local.get $o))) (local.get $keep)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $one)))))
