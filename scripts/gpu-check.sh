#!/usr/bin/env bash
# The GPU check, in two steps, for a GPU machine that has no .NET SDK:
#   scripts/gpu-check.sh publish        on a machine with the SDK: builds native/ and publishes the check
#                                       self-contained into artifacts/gpu-check (and artifacts/gpu-check.tgz)
#   scripts/gpu-check.sh run [OUT] [--quick]
#                                       on the GPU machine, from the repository root (or next to the unpacked
#                                       artifacts/gpu-check): runs the check against NVIDIA's CUDA runtime and
#                                       cuBLAS, then compares with PyTorch when python3 has torch; --quick
#                                       replaces 4096×4096→4096 by 64×4096→4096 (a dry run on the emulator)
# CUDA libraries are found by soname, in CUDA_PATH or /usr/local/cuda, or in the nvidia/*/lib folders of
# Python wheels; BLASLINEAR_CUDART_PATH and BLASLINEAR_CUBLAS_PATH override.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  publish)
    bash scripts/setup.sh
    dotnet publish tests/Probe -c Release -r linux-x64 --self-contained -o artifacts/gpu-check
    cp native/build/*/libblaslinear_*.so artifacts/gpu-check/ 2>/dev/null || true
    cp scripts/gpu_check.py artifacts/gpu-check/
    tar -C artifacts -czf artifacts/gpu-check.tgz gpu-check
    echo "published: artifacts/gpu-check.tgz"
    ;;
  run)
    out="${2:-gpu-check-out}"
    quick="${3:-}"
    bin=artifacts/gpu-check
    [ -x "$bin/BlasLinear.Tests.Probe" ] || bin=gpu-check
    status=0
    "$bin/BlasLinear.Tests.Probe" gpu-check "$out" $quick || status=$?
    if python3 -c 'import torch, numpy; assert torch.cuda.is_available()' 2>/dev/null; then
      python3 "$bin/gpu_check.py" "$out" || status=$?
    else
      echo "gpu-check: PyTorch with CUDA is not available here; skipped the comparison" >&2
    fi
    exit $status
    ;;
  *)
    echo "usage: scripts/gpu-check.sh publish | run [OUTPUT_FOLDER] [--quick]" >&2
    exit 2
    ;;
esac
