#!/usr/bin/env bash
# All GPU measurements in one go, on an NVIDIA machine without Node or network (the recipe of
# shared/docs/gpu.md): Deno's WebGPU -> Vulkan -> the NVIDIA driver, running the bundles that
# `npx tsx --conditions=source benchmarks/gpu/build.ts` staged in benchmarks/.out/gpu (carry that
# folder along). In order, each logged to $OUT (default benchmarks/.out/gpu-results):
#   1. the cpu/webgpu agreement check (stops here, exit 2, when there is no adapter: no silent fallback);
#   2. the per-kernel profile of the default HAEMSA training step on webgpu;
#   3. the package benchmarks on webgpu (experts, hierarchical-fusion, kd-losses, haemsa-model);
#   4. the same on wasm under Deno on that machine's CPU, as the baseline of the same machine.
# Afterwards, here: npx tsx --conditions=source benchmarks/gpu/record.ts DIR/bench-*.json
set -uo pipefail
cd "$(dirname "$0")/../.."
STAGE=benchmarks/.out/gpu
OUT=${OUT:-$PWD/benchmarks/.out/gpu-results}
mkdir -p "$OUT"
[ -f "$STAGE/run.mjs" ] || { echo "no $STAGE/run.mjs: run benchmarks/gpu/build.ts first and carry $STAGE"; exit 3; }

echo "== Vulkan loader and GL dispatch libraries"
for f in "$STAGE"/debs/*.deb; do dpkg -x "$f" /; done
ldconfig

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
GPU=$(head -1 "$OUT/gpu.txt" | cut -d, -f1)
RUN=("$DENO" run -A --unstable-webgpu)

echo "== 1. agreement cpu vs webgpu"
"${RUN[@]}" "$STAGE/agreement.mjs" 2>&1 | grep -v XDG_RUNTIME_DIR | tee "$OUT/agreement.log"
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 2 ]; then echo "no WebGPU adapter: stopping"; exit 2; fi

echo "== 2. kernel profile, webgpu"
"${RUN[@]}" "$STAGE/profile.mjs" --backend webgpu --steps 5 --top 25 --json "$OUT/profile-webgpu.json" 2>&1 | grep -v XDG_RUNTIME_DIR | tee "$OUT/profile-webgpu.log"

echo "== 3. benchmarks, webgpu"
"${RUN[@]}" "$STAGE/run.mjs" --backend webgpu --package experts,hierarchical-fusion,kd-losses,haemsa-model --no-record \
  --note "$GPU" --json "$OUT/bench-deno-webgpu.json" 2>&1 | grep -v XDG_RUNTIME_DIR | tee "$OUT/bench-deno-webgpu.log"

echo "== 4. baseline on the same machine: wasm under Deno"
"${RUN[@]}" "$STAGE/run.mjs" --backend wasm --package experts,hierarchical-fusion,haemsa-model --quick --no-record \
  --note "CPU of the $GPU machine" --json "$OUT/bench-deno-wasm.json" 2>&1 | grep -v XDG_RUNTIME_DIR | tee "$OUT/bench-deno-wasm.log"
echo "== done: $OUT"
exit "$rc"
