;; Products of small float32 matrices in tfjs's wasm heap (the memory is imported: the kernel reads
;; and writes the tensors where they are). Each operation rounded to float32; sums run over p in
;; order within each lane, four lanes at a time. Addresses are byte offsets; strides count floats.
(module
  (import "env" "memory" (memory 1))

  ;; C (m x n, row-major at c) = A · B with A(i, p) at a + 4·(i·asi + p·asp) (asi = k, asp = 1: A is
  ;; m x k; asi = 1, asp = m: A is stored transposed, k x m) and B row-major (k x n at b).
  ;; Columns go sixteen at a time (four vectors kept in locals over the whole sum), then four, then one.
  (func (export "nn")
    (param $a i32) (param $asi i32) (param $asp i32) (param $b i32) (param $c i32)
    (param $m i32) (param $k i32) (param $n i32)
    (local $i i32) (local $j i32) (local $p i32)
    (local $arow i32) (local $pa i32) (local $pb i32) (local $pc i32)
    (local $astep i32) (local $brow i32)
    (local $s v128) (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
    (local $sum f32)
    (local.set $astep (i32.shl (local.get $asp) (i32.const 2)))
    (local.set $brow (i32.shl (local.get $n) (i32.const 2)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $arow (i32.add (local.get $a) (i32.shl (i32.mul (local.get $i) (local.get $asi)) (i32.const 2))))
        (local.set $pc (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $brow))))
        (local.set $j (i32.const 0))
        ;; sixteen columns
        (block $j16_done
          (loop $j16
            (br_if $j16_done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $n)))
            (local.set $acc0 (v128.const i32x4 0 0 0 0))
            (local.set $acc1 (v128.const i32x4 0 0 0 0))
            (local.set $acc2 (v128.const i32x4 0 0 0 0))
            (local.set $acc3 (v128.const i32x4 0 0 0 0))
            (local.set $pa (local.get $arow))
            (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $p (i32.const 0))
            (block $p_done
              (loop $ps
                (br_if $p_done (i32.ge_u (local.get $p) (local.get $k)))
                (local.set $s (f32x4.splat (f32.load (local.get $pa))))
                (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (local.get $s) (v128.load (local.get $pb)))))
                (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (local.get $s) (v128.load offset=16 (local.get $pb)))))
                (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (local.get $s) (v128.load offset=32 (local.get $pb)))))
                (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (local.get $s) (v128.load offset=48 (local.get $pb)))))
                (local.set $pa (i32.add (local.get $pa) (local.get $astep)))
                (local.set $pb (i32.add (local.get $pb) (local.get $brow)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $ps)))
            (v128.store (local.get $pc) (local.get $acc0))
            (v128.store offset=16 (local.get $pc) (local.get $acc1))
            (v128.store offset=32 (local.get $pc) (local.get $acc2))
            (v128.store offset=48 (local.get $pc) (local.get $acc3))
            (local.set $pc (i32.add (local.get $pc) (i32.const 64)))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $j16)))
        ;; four columns
        (block $j4_done
          (loop $j4
            (br_if $j4_done (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $n)))
            (local.set $acc0 (v128.const i32x4 0 0 0 0))
            (local.set $pa (local.get $arow))
            (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $p (i32.const 0))
            (block $p4_done
              (loop $p4
                (br_if $p4_done (i32.ge_u (local.get $p) (local.get $k)))
                (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (f32x4.splat (f32.load (local.get $pa))) (v128.load (local.get $pb)))))
                (local.set $pa (i32.add (local.get $pa) (local.get $astep)))
                (local.set $pb (i32.add (local.get $pb) (local.get $brow)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $p4)))
            (v128.store (local.get $pc) (local.get $acc0))
            (local.set $pc (i32.add (local.get $pc) (i32.const 16)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $j4)))
        ;; one column
        (block $j1_done
          (loop $j1
            (br_if $j1_done (i32.ge_u (local.get $j) (local.get $n)))
            (local.set $sum (f32.const 0))
            (local.set $pa (local.get $arow))
            (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $p (i32.const 0))
            (block $p1_done
              (loop $p1
                (br_if $p1_done (i32.ge_u (local.get $p) (local.get $k)))
                (local.set $sum (f32.add (local.get $sum) (f32.mul (f32.load (local.get $pa)) (f32.load (local.get $pb)))))
                (local.set $pa (i32.add (local.get $pa) (local.get $astep)))
                (local.set $pb (i32.add (local.get $pb) (local.get $brow)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $p1)))
            (f32.store (local.get $pc) (local.get $sum))
            (local.set $pc (i32.add (local.get $pc) (i32.const 4)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $j1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))
  )

  ;; C (m x n, row-major at c) = A · Bᵀ with A row-major (m x k at a) and B row-major (n x k at b):
  ;; C(i, j) is the dot product of two rows, four lanes at a time, the lanes added at the end
  ;; ((l0 + l1) + (l2 + l3)), then the k mod 4 last terms one by one.
  (func (export "nt")
    (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $k i32) (param $n i32)
    (local $i i32) (local $j i32) (local $p i32) (local $k4 i32)
    (local $arow i32) (local $brow i32) (local $pc i32) (local $row i32)
    (local $acc v128) (local $sum f32)
    (local.set $row (i32.shl (local.get $k) (i32.const 2)))
    (local.set $k4 (i32.and (local.get $k) (i32.const -4)))
    (local.set $pc (local.get $c))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $arow (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $row))))
        (local.set $brow (local.get $b))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $j) (local.get $n)))
            (local.set $acc (v128.const i32x4 0 0 0 0))
            (local.set $p (i32.const 0))
            (block $p4_done
              (loop $p4
                (br_if $p4_done (i32.ge_u (local.get $p) (local.get $k4)))
                (local.set $acc
                  (f32x4.add (local.get $acc)
                    (f32x4.mul
                      (v128.load (i32.add (local.get $arow) (i32.shl (local.get $p) (i32.const 2))))
                      (v128.load (i32.add (local.get $brow) (i32.shl (local.get $p) (i32.const 2)))))))
                (local.set $p (i32.add (local.get $p) (i32.const 4)))
                (br $p4)))
            (local.set $sum
              (f32.add
                (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
                (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
            (block $p1_done
              (loop $p1
                (br_if $p1_done (i32.ge_u (local.get $p) (local.get $k)))
                (local.set $sum
                  (f32.add (local.get $sum)
                    (f32.mul
                      (f32.load (i32.add (local.get $arow) (i32.shl (local.get $p) (i32.const 2))))
                      (f32.load (i32.add (local.get $brow) (i32.shl (local.get $p) (i32.const 2)))))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $p1)))
            (f32.store (local.get $pc) (local.get $sum))
            (local.set $pc (i32.add (local.get $pc) (i32.const 4)))
            (local.set $brow (i32.add (local.get $brow) (local.get $row)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))
  )

  ;; out (n at c) = the column sums of X (rows x n, row-major at x): each column summed from 0 over the
  ;; rows in order (out[j] += X[r, j]), four columns at a time, then one by one: the order of a
  ;; sequential sum down each column.
  (func (export "colsum")
    (param $x i32) (param $c i32) (param $rows i32) (param $n i32)
    (local $r i32) (local $j i32) (local $n4 i32) (local $row i32) (local $px i32) (local $pc i32)
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (local.set $row (i32.shl (local.get $n) (i32.const 2)))
    (local.set $pc (local.get $c))
    (block $zero_done
      (loop $zero
        (br_if $zero_done (i32.ge_u (local.get $j) (local.get $n)))
        (f32.store (local.get $pc) (f32.const 0))
        (local.set $pc (i32.add (local.get $pc) (i32.const 4)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $zero)))
    (local.set $px (local.get $x))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $j (i32.const 0))
        (block $j4_done
          (loop $j4
            (br_if $j4_done (i32.ge_u (local.get $j) (local.get $n4)))
            (local.set $pc (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))))
            (v128.store (local.get $pc)
              (f32x4.add (v128.load (local.get $pc))
                (v128.load (i32.add (local.get $px) (i32.shl (local.get $j) (i32.const 2))))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $j4)))
        (block $j1_done
          (loop $j1
            (br_if $j1_done (i32.ge_u (local.get $j) (local.get $n)))
            (local.set $pc (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))))
            (f32.store (local.get $pc)
              (f32.add (f32.load (local.get $pc))
                (f32.load (i32.add (local.get $px) (i32.shl (local.get $j) (i32.const 2))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $j1)))
        (local.set $px (i32.add (local.get $px) (local.get $row)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows)))
  )

  ;; exp(x), four lanes (Cephes' expf: x = n·ln2 + r, a degree-5 polynomial in r, times 2^n; about
  ;; one float32 ulp; x clamped to [-88.38, 88.38]).
  (func $exp (param $x v128) (result v128)
    (local $fx v128) (local $r v128) (local $y v128)
    (local.set $x (f32x4.min (f32x4.max (local.get $x) (f32x4.splat (f32.const -88.3762626647949))) (f32x4.splat (f32.const 88.3762626647949))))
    (local.set $fx (f32x4.floor (f32x4.add (f32x4.mul (local.get $x) (f32x4.splat (f32.const 1.44269504088896341))) (f32x4.splat (f32.const 0.5)))))
    (local.set $r
      (f32x4.sub
        (f32x4.sub (local.get $x) (f32x4.mul (local.get $fx) (f32x4.splat (f32.const 0.693359375))))
        (f32x4.mul (local.get $fx) (f32x4.splat (f32.const -2.12194440e-4)))))
    (local.set $y (f32x4.splat (f32.const 1.9875691500e-4)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $r)) (f32x4.splat (f32.const 1.3981999507e-3))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $r)) (f32x4.splat (f32.const 8.3334519073e-3))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $r)) (f32x4.splat (f32.const 4.1665795894e-2))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $r)) (f32x4.splat (f32.const 1.6666665459e-1))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $r)) (f32x4.splat (f32.const 5.0000001201e-1))))
    (local.set $y
      (f32x4.add
        (f32x4.add (f32x4.mul (local.get $y) (f32x4.mul (local.get $r) (local.get $r))) (local.get $r))
        (f32x4.splat (f32.const 1))))
    (f32x4.mul (local.get $y)
      (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $fx)) (i32x4.splat (i32.const 127))) (i32.const 23)))
  )

  ;; The gate activations of an LSTM step: for each of `rows` rows, z (4h at z, row stride 4h) gives
  ;; acts (at a, row stride 5h): sigmoid of the first 3h, tanh of the last h
  ;; (sigmoid x = 1 / (1 + exp(-x)); tanh x = sign(x) (1 - e) / (1 + e) with e = exp(-2|x|)).
  ;; h must be a multiple of 4 (the caller checks).
  (func (export "lstmact") (param $z i32) (param $a i32) (param $rows i32) (param $h i32)
    (local $r i32) (local $j i32) (local $pz i32) (local $pa i32) (local $v v128) (local $e v128)
    (local $sig i32) (local $all i32)
    (local.set $sig (i32.mul (local.get $h) (i32.const 12)))
    (local.set $all (i32.shl (local.get $h) (i32.const 4)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $pz (i32.add (local.get $z) (i32.mul (local.get $r) (local.get $all))))
        (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $r) (i32.mul (local.get $h) (i32.const 20)))))
        (local.set $j (i32.const 0))
        (block $sig_done
          (loop $sigs
            (br_if $sig_done (i32.ge_u (local.get $j) (local.get $sig)))
            (v128.store (i32.add (local.get $pa) (local.get $j))
              (f32x4.div (f32x4.splat (f32.const 1))
                (f32x4.add (f32x4.splat (f32.const 1))
                  (call $exp (f32x4.neg (v128.load (i32.add (local.get $pz) (local.get $j))))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $sigs)))
        (block $tanh_done
          (loop $tanhs
            (br_if $tanh_done (i32.ge_u (local.get $j) (local.get $all)))
            (local.set $v (v128.load (i32.add (local.get $pz) (local.get $j))))
            (local.set $e (call $exp (f32x4.mul (f32x4.abs (local.get $v)) (f32x4.splat (f32.const -2)))))
            (v128.store (i32.add (local.get $pa) (local.get $j))
              (v128.or
                (f32x4.div (f32x4.sub (f32x4.splat (f32.const 1)) (local.get $e)) (f32x4.add (f32x4.splat (f32.const 1)) (local.get $e)))
                (v128.and (local.get $v) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $tanhs)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows)))
  )
)
