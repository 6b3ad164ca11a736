#!/usr/bin/env bash
# All GPU measurements in one go, on an NVIDIA machine without Node or network: Deno's WebGPU ->
# Vulkan -> the NVIDIA driver (the Vulkan loader and GL dispatch .deb files of benchmarks/gpu/debs
# unpacked first, or the adapter is null), running the bundles that
# `npx tsx --conditions=source benchmarks/gpu/build.ts` staged in benchmarks/.out/gpu (carry that
# folder along). In order, each logged to $OUT (default benchmarks/.out/gpu-results):
#   1. the cpu/webgpu agreement check (stops here, exit 2, when there is no adapter, or only a software
#      one such as llvmpipe: no silent fallback);
#   2. the host cost of one dispatch, for three queue-submit batch sizes;
#   3. the default HAEMSA training step per batch size (16-256): webgpu with the fused kernels and the
#      dispatch caches (queue submits every 15 or 64 dispatches; the loss read every step or one step
#      late), without the caches, without both (tfjs as it comes), and wasm on the same machine's CPU;
#   4. the PyTorch reference (torch_haemsa.py --step-benchmark) on CUDA, when torch with CUDA is there;
#   5. the per-kernel and host-time profile of the step on webgpu (B 32 and 64);
#   6. the haemsa-model package benchmarks on webgpu.
# Everything also goes into $OUT/gpu-results.tgz.
# Knobs: STEPS (timed steps per batch size, 20), BATCH_SIZES (16,32,64,128,256), PARTS ("1 2 3 4 5 6"),
# STEP_CONFIGS (backend:fused:submit:sync:caches:gates runs of part 3), PROFILE_SIZES ("32 64"),
# SKIP_DEBS=1 (the Vulkan loader is installed already, e.g. lavapipe here), ALLOW_SOFTWARE_ADAPTER=1 (run the
# webgpu parts on a software/fallback adapter such as lavapipe: passes --allow-software-adapter), DENO_BIN.
# Afterwards, here: npx tsx --conditions=source benchmarks/gpu/record.ts DIR/bench-*.json
set -uo pipefail
cd "$(dirname "$0")/../.."
STAGE=benchmarks/.out/gpu
OUT=${OUT:-$PWD/benchmarks/.out/gpu-results}
mkdir -p "$OUT"
[ -f "$STAGE/run.mjs" ] || { echo "no $STAGE/run.mjs: run benchmarks/gpu/build.ts first and carry $STAGE"; exit 3; }

if [ "${SKIP_DEBS:-0}" != "1" ]; then
  echo "== Vulkan loader and GL dispatch libraries"
  for f in "$STAGE"/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi

echo "== deno"
DENO=${DENO_BIN:-/tmp/haemsa-deno}
if [ ! -x "$DENO" ]; then
  if command -v xz >/dev/null; then xz -dc "$STAGE/deno.xz" > "$DENO"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$STAGE/deno.xz" "$DENO"; fi
  chmod +x "$DENO"
fi
"$DENO" --version | head -1

if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp} HAEMSA_BENCH_ROOT=$PWD HAEMSA_WASM_DIR=$PWD/$STAGE/wasm/
(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true) | tee "$OUT/gpu.txt"
(lscpu | grep -E "Model name|^CPU\(s\)" || true) | tee "$OUT/cpu.txt"
GPU=$(head -1 "$OUT/gpu.txt" | cut -d, -f1)
RUN=("$DENO" run -A --unstable-webgpu)
# every webgpu run refuses a software adapter unless asked (a GPU machine that falls back to one would waste its time)
SOFT=()
if [ "${ALLOW_SOFTWARE_ADAPTER:-0}" = "1" ]; then SOFT=(--allow-software-adapter); fi
log() { grep -v XDG_RUNTIME_DIR | tee "$OUT/$1"; }

echo "== 1. agreement cpu vs webgpu"
"${RUN[@]}" "$STAGE/agreement.mjs" ${SOFT[@]+"${SOFT[@]}"} 2>&1 | log agreement.log
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 2 ]; then echo "no usable WebGPU adapter (none, or a software one without ALLOW_SOFTWARE_ADAPTER=1): stopping"; exit 2; fi

STEPS=${STEPS:-20}
SIZES=${BATCH_SIZES:-16,32,64,128,256}
PARTS=" ${PARTS:-1 2 3 4 5 6} "
# backend:fused:submit-batch:sync:caches:gates per training-step run of part 3
CONFIGS=${STEP_CONFIGS:-webgpu:on:15:each:on:on webgpu:on:15:lag:on:on webgpu:on:15:each:on:off webgpu:on:15:each:off:on webgpu:off:15:each:off:on wasm:on:15:each:on:on}

if [[ "$PARTS" == *" 2 "* ]]; then
  echo "== 2. host cost of a dispatch"
  for batch in 15 64 256; do
    "${RUN[@]}" "$STAGE/dispatch.mjs" --backend webgpu ${SOFT[@]+"${SOFT[@]}"} --submit-batch "$batch" 2>&1 | log "dispatch-$batch.log"
  done
fi

if [[ "$PARTS" == *" 3 "* ]]; then
  echo "== 3. training step per batch size"
  for config in $CONFIGS; do
    IFS=: read -r backend fused submit sync caches gates <<< "$config"
    name="step-$backend-fused-$fused-submit$submit-$sync-caches-${caches:-on}-gates-${gates:-on}"
    "${RUN[@]}" "$STAGE/step.mjs" --backend "$backend" ${SOFT[@]+"${SOFT[@]}"} --fused "$fused" --submit-batch "$submit" --sync "$sync" --caches "${caches:-on}" \
      --gates "${gates:-on}" --steps "$STEPS" \
      --batch-sizes "$SIZES" --json "$OUT/$name.json" 2>&1 | log "$name.log"
  done
fi

if [[ "$PARTS" == *" 4 "* ]]; then
  echo "== 4. PyTorch reference on CUDA"
  if command -v python3 >/dev/null && python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    python3 benchmarks/haemsa-model/torch_haemsa.py --step-benchmark --device cuda --steps "$STEPS" --batch-sizes "$SIZES" > "$OUT/step-torch-cuda.json" 2> >(tee "$OUT/step-torch-cuda.log" >&2)
    cat "$OUT/step-torch-cuda.json"
    python3 benchmarks/haemsa-model/torch_haemsa.py --step-benchmark --no-gates --device cuda --steps "$STEPS" --batch-sizes "$SIZES" > "$OUT/step-torch-cuda-no-gates.json" 2> >(tee "$OUT/step-torch-cuda-no-gates.log" >&2)
  else
    echo "no python3 with torch and CUDA on this machine: PyTorch figures not measured here" | tee "$OUT/step-torch-cuda.log"
    (python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" 2>&1 || true) | tee -a "$OUT/step-torch-cuda.log"
  fi
fi

if [[ "$PARTS" == *" 5 "* ]]; then
  echo "== 5. kernel and host profile, webgpu"
  for b in ${PROFILE_SIZES:-32 64}; do
    "${RUN[@]}" "$STAGE/profile.mjs" --backend webgpu ${SOFT[@]+"${SOFT[@]}"} --batch-size "$b" --steps 5 --top 25 --json "$OUT/profile-webgpu-b$b.json" 2>&1 | log "profile-webgpu-b$b.log"
  done
fi

if [[ "$PARTS" == *" 6 "* ]]; then
  echo "== 6. haemsa-model benchmarks, webgpu"
  "${RUN[@]}" "$STAGE/run.mjs" --backend webgpu ${SOFT[@]+"${SOFT[@]}"} --package haemsa-model --no-record \
    --note "$GPU" --json "$OUT/bench-deno-webgpu.json" 2>&1 | log bench-deno-webgpu.log
fi
# one archive, for tools that bring back a limited number of files
(cd "$OUT" && tar czf /tmp/gpu-results.tgz --exclude gpu-results.tgz . && mv /tmp/gpu-results.tgz "$OUT/gpu-results.tgz")
echo "== done: $OUT"
exit "$rc"
