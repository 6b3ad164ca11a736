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

  ;; ---- gemm: the plain 2-D product of tfjs's BatchMatMul / _FusedMatMul (WasmMatMul) ----
  ;; C (m x n, row-major at c) = bias + A · B, as XNNPACK's f32 GEMM computes it: each output starts
  ;; at its bias (0 without one) and adds a(i, p)·b(p, j) for p = 0, 1, ..., k-1, every product and
  ;; sum rounded to float32. A(i, p) is at a + 4·(i·asi + p·asp) (asp = 1: row-major; asi = 1: stored
  ;; transposed) and B(p, j) at b + 4·(p·bsp + j·bsj) (either layout), with the same sums as on a
  ;; transposed copy. B and the bias are first packed into panels of eight columns at w (n8 =
  ;; ceil(n / 8) panels of 8 + 8·k floats: the panel's bias, then row p's eight values for each p;
  ;; columns past n are zero). Each block of four rows of A runs over every panel (the block stays in
  ;; the L1 cache, the panels in L2), eight accumulators in registers: a row-major A is read in place
  ;; (one splat load from each of the four rows per p); a transposed A is packed after the panels
  ;; first (4·k floats, the four values of each p adjacent), since reading its four values of each p
  ;; in place would walk a new cache line per p for every panel. The last m mod 4 rows go one at a time.

  ;; Panel jp of B at dst: [bias8][k x 8]; columns past n and a missing bias (hasbias = 0) are zeros.
  (func $gemmpack
    (param $b i32) (param $bsp i32) (param $bsj i32) (param $bias i32) (param $hasbias i32)
    (param $k i32) (param $n i32) (param $j0 i32) (param $dst i32)
    (local $p i32) (local $jj i32) (local $j i32) (local $src i32) (local $rowstep i32)
    ;; the bias (or zeros)
    (local.set $jj (i32.const 0))
    (block $bias_done
      (loop $biases
        (br_if $bias_done (i32.ge_u (local.get $jj) (i32.const 8)))
        (local.set $j (i32.add (local.get $j0) (local.get $jj)))
        (f32.store (i32.add (local.get $dst) (i32.shl (local.get $jj) (i32.const 2)))
          (if (result f32) (i32.and (local.get $hasbias) (i32.lt_u (local.get $j) (local.get $n)))
            (then (f32.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2)))))
            (else (f32.const 0))))
        (local.set $jj (i32.add (local.get $jj) (i32.const 1)))
        (br $biases)))
    (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
    (local.set $rowstep (i32.shl (local.get $bsp) (i32.const 2)))
    (local.set $src (i32.add (local.get $b) (i32.shl (i32.mul (local.get $j0) (local.get $bsj)) (i32.const 2))))
    ;; a whole panel of contiguous columns: two vector copies per row
    (if (i32.and (i32.eq (local.get $bsj) (i32.const 1)) (i32.le_u (i32.add (local.get $j0) (i32.const 8)) (local.get $n)))
      (then
        (block $fast_done
          (loop $fast
            (br_if $fast_done (i32.ge_u (local.get $p) (local.get $k)))
            (v128.store (local.get $dst) (v128.load (local.get $src)))
            (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $src)))
            (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
            (local.set $src (i32.add (local.get $src) (local.get $rowstep)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $fast)))
        (return)))
    ;; otherwise (B transposed, or the last, narrower panel) one value at a time
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $p) (local.get $k)))
        (local.set $jj (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $jj) (i32.const 8)))
            (local.set $j (i32.add (local.get $j0) (local.get $jj)))
            (f32.store (i32.add (local.get $dst) (i32.shl (local.get $jj) (i32.const 2)))
              (if (result f32) (i32.lt_u (local.get $j) (local.get $n))
                (then (f32.load (i32.add (local.get $src) (i32.shl (i32.mul (local.get $jj) (local.get $bsj)) (i32.const 2)))))
                (else (f32.const 0))))
            (local.set $jj (i32.add (local.get $jj) (i32.const 1)))
            (br $cols)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (local.set $src (i32.add (local.get $src) (local.get $rowstep)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $rows))))

  ;; Rows i .. i+3 of A (A(r, p) at a + 4·(r·asi + p·asp), asp = 1 or asi = 1) interleaved at dst:
  ;; A(i, p), A(i+1, p), A(i+2, p), A(i+3, p) for p = 0 .. k-1, sixteen bytes per p.
  (func $gemmpacka (param $a i32) (param $asi i32) (param $asp i32) (param $k i32) (param $dst i32)
    (local $p i32) (local $rstep i32) (local $src i32) (local $pstep i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $rstep (i32.shl (local.get $asi) (i32.const 2)))
    (local.set $pstep (i32.shl (local.get $asp) (i32.const 2)))
    (if (i32.ne (local.get $asp) (i32.const 1))
      (then
        ;; A stored transposed: the four values of each p are adjacent, one vector copy each
        (local.set $src (local.get $a))
        (block $t_done
          (loop $ts
            (br_if $t_done (i32.ge_u (local.get $p) (local.get $k)))
            (v128.store (local.get $dst) (v128.load (local.get $src)))
            (local.set $src (i32.add (local.get $src) (local.get $pstep)))
            (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $ts)))
        (return)))
    ;; rows stored row-major: 4 x 4 transposes of four values from each row
    (block $q_done
      (loop $qs
        (br_if $q_done (i32.gt_u (i32.add (local.get $p) (i32.const 4)) (local.get $k)))
        (local.set $src (i32.add (local.get $a) (i32.shl (local.get $p) (i32.const 2))))
        (local.set $r0 (v128.load (local.get $src)))
        (local.set $r1 (v128.load (i32.add (local.get $src) (local.get $rstep))))
        (local.set $r2 (v128.load (i32.add (local.get $src) (i32.shl (local.get $rstep) (i32.const 1)))))
        (local.set $r3 (v128.load (i32.add (local.get $src) (i32.mul (local.get $rstep) (i32.const 3)))))
        (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
        (local.set $t1 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
        (local.set $t2 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
        (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
        (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1)))
        (v128.store offset=16 (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t1)))
        (v128.store offset=32 (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t2) (local.get $t3)))
        (v128.store offset=48 (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t2) (local.get $t3)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $qs)))
    (block $r_done
      (loop $rs
        (br_if $r_done (i32.ge_u (local.get $p) (local.get $k)))
        (local.set $src (i32.add (local.get $a) (i32.shl (local.get $p) (i32.const 2))))
        (f32.store (local.get $dst) (f32.load (local.get $src)))
        (f32.store offset=4 (local.get $dst) (f32.load (i32.add (local.get $src) (local.get $rstep))))
        (f32.store offset=8 (local.get $dst) (f32.load (i32.add (local.get $src) (i32.shl (local.get $rstep) (i32.const 1)))))
        (f32.store offset=12 (local.get $dst) (f32.load (i32.add (local.get $src) (i32.mul (local.get $rstep) (i32.const 3)))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $rs))))

  ;; The first nv (1..8) of the eight values v0, v1 at pc (row-major output row).
  (func $gemmstore (param $pc i32) (param $v0 v128) (param $v1 v128) (param $nv i32)
    (if (i32.eq (local.get $nv) (i32.const 8))
      (then
        (v128.store (local.get $pc) (local.get $v0))
        (v128.store offset=16 (local.get $pc) (local.get $v1))
        (return)))
    (if (i32.ge_u (local.get $nv) (i32.const 4))
      (then
        (v128.store (local.get $pc) (local.get $v0))
        (local.set $nv (i32.sub (local.get $nv) (i32.const 4)))
        (local.set $pc (i32.add (local.get $pc) (i32.const 16)))
        (local.set $v0 (local.get $v1))))
    (if (i32.gt_u (local.get $nv) (i32.const 0)) (then (f32.store (local.get $pc) (f32x4.extract_lane 0 (local.get $v0)))))
    (if (i32.gt_u (local.get $nv) (i32.const 1)) (then (f32.store offset=4 (local.get $pc) (f32x4.extract_lane 1 (local.get $v0)))))
    (if (i32.gt_u (local.get $nv) (i32.const 2)) (then (f32.store offset=8 (local.get $pc) (f32x4.extract_lane 2 (local.get $v0))))))

  (func (export "gemm")
    (param $a i32) (param $asi i32) (param $asp i32)
    (param $b i32) (param $bsp i32) (param $bsj i32)
    (param $bias i32) (param $hasbias i32) (param $c i32)
    (param $m i32) (param $k i32) (param $n i32) (param $w i32)
    (local $i i32) (local $jp i32) (local $n8 i32) (local $p i32) (local $nv i32)
    (local $pa i32) (local $pb i32) (local $pc i32) (local $panel i32)
    (local $rstep i32) (local $pstep i32) (local $ldc i32) (local $ablock i32)
    (local $b0 v128) (local $b1 v128) (local $s v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $abase i32) (local $astep i32) (local $ra1 i32) (local $ra2 i32) (local $ra3 i32)
    (local.set $n8 (i32.shr_u (i32.add (local.get $n) (i32.const 7)) (i32.const 3)))
    (local.set $panel (i32.shl (i32.add (local.get $k) (i32.const 1)) (i32.const 5)))
    (local.set $rstep (i32.shl (local.get $asi) (i32.const 2)))
    (local.set $pstep (i32.shl (local.get $asp) (i32.const 2)))
    (local.set $ldc (i32.shl (local.get $n) (i32.const 2)))
    ;; where rows 1-3 of a block of A are from its row 0 (ra1-ra3), and the step from p to p + 1 (astep):
    ;; in place for a row-major A, in the packed block otherwise
    (if (i32.eq (local.get $asp) (i32.const 1))
      (then
        (local.set $ra1 (local.get $rstep))
        (local.set $ra2 (i32.shl (local.get $rstep) (i32.const 1)))
        (local.set $ra3 (i32.mul (local.get $rstep) (i32.const 3)))
        (local.set $astep (i32.const 4)))
      (else
        (local.set $ra1 (i32.const 4))
        (local.set $ra2 (i32.const 8))
        (local.set $ra3 (i32.const 12))
        (local.set $astep (i32.const 16))))
    ;; the packed block of four rows of a transposed A goes after the panels
    (local.set $ablock (i32.add (local.get $w) (i32.mul (local.get $n8) (local.get $panel))))
    ;; pack every panel of B with its bias
    (block $pack_done
      (loop $packs
        (br_if $pack_done (i32.ge_u (local.get $jp) (local.get $n8)))
        (call $gemmpack (local.get $b) (local.get $bsp) (local.get $bsj) (local.get $bias) (local.get $hasbias)
          (local.get $k) (local.get $n) (i32.shl (local.get $jp) (i32.const 3))
          (i32.add (local.get $w) (i32.mul (local.get $jp) (local.get $panel))))
        (local.set $jp (i32.add (local.get $jp) (i32.const 1)))
        (br $packs)))
    ;; four rows at a time
    (block $rows4_done
      (loop $rows4
        (br_if $rows4_done (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $m)))
        (local.set $abase (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $rstep))))
        (if (i32.ne (local.get $asp) (i32.const 1))
          (then
            (call $gemmpacka (local.get $abase) (local.get $asi) (local.get $asp) (local.get $k) (local.get $ablock))
            (local.set $abase (local.get $ablock))))
        (local.set $jp (i32.const 0))
        (block $panels_done
          (loop $panels
            (br_if $panels_done (i32.ge_u (local.get $jp) (local.get $n8)))
            (local.set $pb (i32.add (local.get $w) (i32.mul (local.get $jp) (local.get $panel))))
            (local.set $c00 (v128.load (local.get $pb)))
            (local.set $c01 (v128.load offset=16 (local.get $pb)))
            (local.set $c10 (local.get $c00)) (local.set $c11 (local.get $c01))
            (local.set $c20 (local.get $c00)) (local.set $c21 (local.get $c01))
            (local.set $c30 (local.get $c00)) (local.set $c31 (local.get $c01))
            (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
            (local.set $pa (local.get $abase))
            (local.set $p (i32.const 0))
            (block $k_done
              (loop $ks
                (br_if $k_done (i32.ge_u (local.get $p) (local.get $k)))
                (local.set $b0 (v128.load (local.get $pb)))
                (local.set $b1 (v128.load offset=16 (local.get $pb)))
                (local.set $s (v128.load32_splat (local.get $pa)))
                (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $s) (local.get $b0))))
                (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $s) (local.get $b1))))
                (local.set $s (v128.load32_splat (i32.add (local.get $pa) (local.get $ra1))))
                (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $s) (local.get $b0))))
                (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $s) (local.get $b1))))
                (local.set $s (v128.load32_splat (i32.add (local.get $pa) (local.get $ra2))))
                (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $s) (local.get $b0))))
                (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $s) (local.get $b1))))
                (local.set $s (v128.load32_splat (i32.add (local.get $pa) (local.get $ra3))))
                (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $s) (local.get $b0))))
                (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $s) (local.get $b1))))
                (local.set $pa (i32.add (local.get $pa) (local.get $astep)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $ks)))
            (local.set $nv (i32.sub (local.get $n) (i32.shl (local.get $jp) (i32.const 3))))
            (if (i32.gt_u (local.get $nv) (i32.const 8)) (then (local.set $nv (i32.const 8))))
            (local.set $pc (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $ldc)) (i32.shl (local.get $jp) (i32.const 5)))))
            (call $gemmstore (local.get $pc) (local.get $c00) (local.get $c01) (local.get $nv))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
            (call $gemmstore (local.get $pc) (local.get $c10) (local.get $c11) (local.get $nv))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
            (call $gemmstore (local.get $pc) (local.get $c20) (local.get $c21) (local.get $nv))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
            (call $gemmstore (local.get $pc) (local.get $c30) (local.get $c31) (local.get $nv))
            (local.set $jp (i32.add (local.get $jp) (i32.const 1)))
            (br $panels)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows4)))
    ;; the last rows, one at a time
    (block $rows1_done
      (loop $rows1
        (br_if $rows1_done (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $jp (i32.const 0))
        (block $panels1_done
          (loop $panels1
            (br_if $panels1_done (i32.ge_u (local.get $jp) (local.get $n8)))
            (local.set $pb (i32.add (local.get $w) (i32.mul (local.get $jp) (local.get $panel))))
            (local.set $c00 (v128.load (local.get $pb)))
            (local.set $c01 (v128.load offset=16 (local.get $pb)))
            (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
            (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $rstep))))
            (local.set $p (i32.const 0))
            (block $k1_done
              (loop $k1
                (br_if $k1_done (i32.ge_u (local.get $p) (local.get $k)))
                (local.set $s (v128.load32_splat (local.get $pa)))
                (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $s) (v128.load (local.get $pb)))))
                (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $s) (v128.load offset=16 (local.get $pb)))))
                (local.set $pa (i32.add (local.get $pa) (local.get $pstep)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $k1)))
            (local.set $nv (i32.sub (local.get $n) (i32.shl (local.get $jp) (i32.const 3))))
            (if (i32.gt_u (local.get $nv) (i32.const 8)) (then (local.set $nv (i32.const 8))))
            (call $gemmstore
              (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $ldc)) (i32.shl (local.get $jp) (i32.const 5))))
              (local.get $c00) (local.get $c01) (local.get $nv))
            (local.set $jp (i32.add (local.get $jp) (i32.const 1)))
            (br $panels1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows1))))

  ;; ---- masked means over steps: Layers.maskedMean and reluMaskedMean (WasmMaskedMean) ----
  ;; The count of sample i is max(sum of its mask row m(i, 0 .. t-1) in order from 0, 1). The
  ;; numbers are those of the composite of tfjs ops (relu, the batched product (B, 1, T)·(B, T, d)
  ;; of the mask with x, the division by the count), bit for bit: the wasm backend's batched product
  ;; sums the steps in blocks of 48 (`block`; all the steps for a batch of one sample, which goes to
  ;; the plain product), each block's products in order from 0, and adds each block's sum to the
  ;; running total (from 0).

  ;; max(sum of the t mask values at m, in order from 0, 1)
  (func $maskcount (param $m i32) (param $t i32) (result f32)
    (local $s f32) (local $q i32)
    (block $done
      (loop $steps
        (br_if $done (i32.ge_u (local.get $q) (local.get $t)))
        (local.set $s (f32.add (local.get $s) (f32.load (i32.add (local.get $m) (i32.shl (local.get $q) (i32.const 2))))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $steps)))
    (f32.max (local.get $s) (f32.const 1)))

  ;; y (b x d) = sum over steps q of m(i, q)·r(x(i, q, :)) / count(i), r = relu when $relu (else
  ;; none); x (b x t x d), m (b x t) and y row-major. Four columns at a time, then one.
  (func (export "maskedmean")
    (param $x i32) (param $m i32) (param $y i32) (param $b i32) (param $t i32) (param $d i32) (param $block i32) (param $relu i32)
    (local $i i32) (local $j i32) (local $q i32) (local $q0 i32) (local $qe i32)
    (local $mrow i32) (local $px i32) (local $pm i32) (local $rowstep i32) (local $py i32)
    (local $count f32) (local $acc v128) (local $s v128) (local $v v128)
    (local $acc1 f32) (local $s1 f32) (local $v1 f32)
    (local.set $rowstep (i32.shl (local.get $d) (i32.const 2)))
    (block $samples_done
      (loop $samples
        (br_if $samples_done (i32.ge_u (local.get $i) (local.get $b)))
        (local.set $mrow (i32.add (local.get $m) (i32.shl (i32.mul (local.get $i) (local.get $t)) (i32.const 2))))
        (local.set $count (call $maskcount (local.get $mrow) (local.get $t)))
        (local.set $j (i32.const 0))
        (block $j4_done
          (loop $j4
            (br_if $j4_done (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $d)))
            (local.set $acc (v128.const i32x4 0 0 0 0))
            (local.set $q0 (i32.const 0))
            (block $blocks_done
              (loop $blocks
                (br_if $blocks_done (i32.ge_u (local.get $q0) (local.get $t)))
                (local.set $qe (i32.add (local.get $q0) (local.get $block)))
                (if (i32.gt_u (local.get $qe) (local.get $t)) (then (local.set $qe (local.get $t))))
                (local.set $s (v128.const i32x4 0 0 0 0))
                (local.set $q (local.get $q0))
                (local.set $pm (i32.add (local.get $mrow) (i32.shl (local.get $q) (i32.const 2))))
                (local.set $px (i32.add (local.get $x)
                  (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $i) (local.get $t)) (local.get $q)) (local.get $d)) (local.get $j)) (i32.const 2))))
                (block $steps_done
                  (loop $steps
                    (br_if $steps_done (i32.ge_u (local.get $q) (local.get $qe)))
                    (local.set $v (v128.load (local.get $px)))
                    (if (local.get $relu) (then (local.set $v (f32x4.max (local.get $v) (v128.const i32x4 0 0 0 0)))))
                    (local.set $s (f32x4.add (local.get $s) (f32x4.mul (v128.load32_splat (local.get $pm)) (local.get $v))))
                    (local.set $pm (i32.add (local.get $pm) (i32.const 4)))
                    (local.set $px (i32.add (local.get $px) (local.get $rowstep)))
                    (local.set $q (i32.add (local.get $q) (i32.const 1)))
                    (br $steps)))
                (local.set $acc (f32x4.add (local.get $acc) (local.get $s)))
                (local.set $q0 (local.get $qe))
                (br $blocks)))
            (v128.store
              (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $d)) (local.get $j)) (i32.const 2)))
              (f32x4.div (local.get $acc) (f32x4.splat (local.get $count))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $j4)))
        (block $j1_done
          (loop $j1
            (br_if $j1_done (i32.ge_u (local.get $j) (local.get $d)))
            (local.set $acc1 (f32.const 0))
            (local.set $q0 (i32.const 0))
            (block $blocks1_done
              (loop $blocks1
                (br_if $blocks1_done (i32.ge_u (local.get $q0) (local.get $t)))
                (local.set $qe (i32.add (local.get $q0) (local.get $block)))
                (if (i32.gt_u (local.get $qe) (local.get $t)) (then (local.set $qe (local.get $t))))
                (local.set $s1 (f32.const 0))
                (local.set $q (local.get $q0))
                (local.set $pm (i32.add (local.get $mrow) (i32.shl (local.get $q) (i32.const 2))))
                (local.set $px (i32.add (local.get $x)
                  (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $i) (local.get $t)) (local.get $q)) (local.get $d)) (local.get $j)) (i32.const 2))))
                (block $steps1_done
                  (loop $steps1
                    (br_if $steps1_done (i32.ge_u (local.get $q) (local.get $qe)))
                    (local.set $v1 (f32.load (local.get $px)))
                    (if (local.get $relu) (then (local.set $v1 (f32.max (local.get $v1) (f32.const 0)))))
                    (local.set $s1 (f32.add (local.get $s1) (f32.mul (f32.load (local.get $pm)) (local.get $v1))))
                    (local.set $pm (i32.add (local.get $pm) (i32.const 4)))
                    (local.set $px (i32.add (local.get $px) (local.get $rowstep)))
                    (local.set $q (i32.add (local.get $q) (i32.const 1)))
                    (br $steps1)))
                (local.set $acc1 (f32.add (local.get $acc1) (local.get $s1)))
                (local.set $q0 (local.get $qe))
                (br $blocks1)))
            (f32.store
              (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $d)) (local.get $j)) (i32.const 2)))
              (f32.div (local.get $acc1) (local.get $count)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $j1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $samples))))

  ;; dx (b x t x d) = m(i, q)·(dy(i, :) / count(i)), times step(x(i, q, :)) (1 where x > 0, else 0)
  ;; when $relu: the composite's gradient (the division's, the product's, relu's), each rounded to
  ;; float32 in that order. Four columns at a time, then one; each column's division once, then
  ;; every step q of it.
  (func (export "maskedmeangrad")
    (param $x i32) (param $m i32) (param $dy i32) (param $dx i32) (param $b i32) (param $t i32) (param $d i32) (param $relu i32)
    (local $i i32) (local $j i32) (local $q i32) (local $mrow i32) (local $o i32) (local $rowstep i32) (local $pdy i32)
    (local $count f32) (local $g v128) (local $v v128) (local $g1 f32) (local $v1 f32)
    (local.set $rowstep (i32.shl (local.get $d) (i32.const 2)))
    (block $samples_done
      (loop $samples
        (br_if $samples_done (i32.ge_u (local.get $i) (local.get $b)))
        (local.set $mrow (i32.add (local.get $m) (i32.shl (i32.mul (local.get $i) (local.get $t)) (i32.const 2))))
        (local.set $count (call $maskcount (local.get $mrow) (local.get $t)))
        (local.set $pdy (i32.add (local.get $dy) (i32.shl (i32.mul (local.get $i) (local.get $d)) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $j4_done
          (loop $j4
            (br_if $j4_done (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $d)))
            (local.set $g (f32x4.div (v128.load (i32.add (local.get $pdy) (i32.shl (local.get $j) (i32.const 2)))) (f32x4.splat (local.get $count))))
            ;; (i, 0, j): its byte offset in x and dx, then one row of d further per step
            (local.set $o (i32.shl (i32.add (i32.mul (i32.mul (local.get $i) (local.get $t)) (local.get $d)) (local.get $j)) (i32.const 2)))
            (local.set $q (i32.const 0))
            (block $steps_done
              (loop $steps
                (br_if $steps_done (i32.ge_u (local.get $q) (local.get $t)))
                (local.set $v (f32x4.mul (v128.load32_splat (i32.add (local.get $mrow) (i32.shl (local.get $q) (i32.const 2)))) (local.get $g)))
                (if (local.get $relu)
                  (then
                    (local.set $v (f32x4.mul (local.get $v)
                      (v128.and (f32x4.gt (v128.load (i32.add (local.get $x) (local.get $o))) (v128.const i32x4 0 0 0 0))
                        (v128.const f32x4 1 1 1 1))))))
                (v128.store (i32.add (local.get $dx) (local.get $o)) (local.get $v))
                (local.set $o (i32.add (local.get $o) (local.get $rowstep)))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $steps)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $j4)))
        (block $j1_done
          (loop $j1
            (br_if $j1_done (i32.ge_u (local.get $j) (local.get $d)))
            (local.set $g1 (f32.div (f32.load (i32.add (local.get $pdy) (i32.shl (local.get $j) (i32.const 2)))) (local.get $count)))
            (local.set $o (i32.shl (i32.add (i32.mul (i32.mul (local.get $i) (local.get $t)) (local.get $d)) (local.get $j)) (i32.const 2)))
            (local.set $q (i32.const 0))
            (block $steps1_done
              (loop $steps1
                (br_if $steps1_done (i32.ge_u (local.get $q) (local.get $t)))
                (local.set $v1 (f32.mul (f32.load (i32.add (local.get $mrow) (i32.shl (local.get $q) (i32.const 2)))) (local.get $g1)))
                (if (local.get $relu)
                  (then
                    (local.set $v1 (f32.mul (local.get $v1)
                      (select (f32.const 1) (f32.const 0) (f32.gt (f32.load (i32.add (local.get $x) (local.get $o))) (f32.const 0)))))))
                (f32.store (i32.add (local.get $dx) (local.get $o)) (local.get $v1))
                (local.set $o (i32.add (local.get $o) (local.get $rowstep)))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $steps1)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $j1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $samples))))
)
