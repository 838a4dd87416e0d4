#!/usr/bin/env bash
# The GPU check, in two steps, for a GPU machine that has no .NET SDK:
#   scripts/gpu-check.sh publish
#       on a machine with the SDK: builds native/ and publishes the check self-contained into
#       artifacts/gpu-check and artifacts/gpu-check.tgz (the archive must stay under 64 MiB)
#   gpu-check/gpu-check.sh run [--quick] [--out DIR | DIR]
#       on the GPU machine, from the unpacked artifact (or scripts/gpu-check.sh in a built checkout): runs
#       the check against NVIDIA's CUDA runtime and cuBLAS, compares with PyTorch when a Python on PATH
#       (or $PYTHON) imports torch with CUDA, and writes DIR/report.md and DIR/report.json (DIR defaults to
#       ./gpu-check-out). --quick uses small shapes: the dry run on the emulator.
# CUDA libraries are found as sets (runtime, cuBLASLt, cuBLAS) per major version, newest first, in
# BLASLINEAR_CUDA_LIBRARY_PATH, the loader's path, CUDA_PATH, /usr/local/cuda and Python environments'
# nvidia wheels; the Python that imports torch is asked where its nvidia packages are.
# BLASLINEAR_CUDART_PATH and BLASLINEAR_CUBLAS_PATH override; BLASLINEAR_GPU_CHECK_BIN names the check's folder.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

usage() { echo "usage: gpu-check.sh publish | run [--quick] [--out DIR | DIR]" >&2; exit 2; }

publish() {
  cd "$here/.."
  bash scripts/setup.sh
  rm -rf artifacts/gpu-check artifacts/gpu-check.tgz
  dotnet publish tests/Probe -c Release -r linux-x64 --self-contained -o artifacts/gpu-check
  cp native/build/kernels/libblaslinear_kernels.so artifacts/gpu-check/
  cp scripts/gpu_check.py scripts/gpu-check.sh artifacts/gpu-check/
  tar -C artifacts -czf artifacts/gpu-check.tgz gpu-check
  local folder archive limit=$((64 * 1024 * 1024))
  folder=$(du -sb artifacts/gpu-check | cut -f1)
  archive=$(stat -c %s artifacts/gpu-check.tgz)
  echo "published: artifacts/gpu-check ($((folder / 1048576)) MiB), artifacts/gpu-check.tgz ($((archive / 1048576)) MiB)"
  # The archive is what travels; unpacked, the self-contained runtime makes the folder larger.
  if ((archive > limit)); then
    echo "gpu-check: artifacts/gpu-check.tgz is over 64 MiB" >&2
    exit 1
  fi
}

# The folder holding the check: explicit, beside this script (the unpacked artifact), or the published one.
find_bin() {
  local candidate
  for candidate in "${BLASLINEAR_GPU_CHECK_BIN:-}" "$here" "$here/../artifacts/gpu-check"; do
    if [ -n "$candidate" ] && [ -f "$candidate/BlasLinear.Tests.Probe.dll" ]; then
      echo "$candidate"
      return
    fi
  done
  echo "gpu-check: the check is not published; run 'scripts/gpu-check.sh publish' first" >&2
  exit 2
}

# The first Python that imports torch with a usable GPU.
find_torch_python() {
  local python
  for python in ${PYTHON:-} python3 python; do
    if command -v "$python" >/dev/null && "$python" -c 'import torch, numpy; assert torch.cuda.is_available()' 2>/dev/null; then
      command -v "$python"
      return
    fi
  done
}

run() {
  local out="gpu-check-out" quick=() positional=0
  while (($#)); do
    case "$1" in
      --quick) quick=(--quick) ;;
      --out) [ $# -ge 2 ] || usage; out="$2"; shift ;;
      --out=*) out="${1#--out=}" ;;
      -*) echo "gpu-check: unknown option $1" >&2; usage ;;
      *) ((positional == 0)) || usage; out="$1"; positional=1 ;;
    esac
    shift
  done

  local bin python status=0
  bin="$(find_bin)"
  python="$(find_torch_python)"
  if [ -n "$python" ]; then
    # The CUDA libraries PyTorch uses are the ones to compare on: its Python's nvidia wheel folders.
    local wheels
    wheels="$("$python" -c 'import os, nvidia; print(os.pathsep.join(nvidia.__path__))' 2>/dev/null || true)"
    if [ -n "$wheels" ]; then
      export BLASLINEAR_CUDA_LIBRARY_PATH="${BLASLINEAR_CUDA_LIBRARY_PATH:+$BLASLINEAR_CUDA_LIBRARY_PATH:}$wheels"
    fi
  fi

  mkdir -p "$out"
  local probe=("$bin/BlasLinear.Tests.Probe")
  [ -x "${probe[0]}" ] || probe=(dotnet "$bin/BlasLinear.Tests.Probe.dll")
  "${probe[@]}" gpu-check "$out" "${quick[@]}" || status=$?
  if [ -n "$python" ] && [ -f "$out/report.json" ]; then
    "$python" "$bin/gpu_check.py" "$out" || status=$?
    "${probe[@]}" gpu-report "$out" || status=$?
  else
    echo "gpu-check: PyTorch with CUDA is not available here; the report has no comparison" >&2
  fi
  # The exported tensors (one 32×4096→4096 layer's, 133 MB) served the comparison only.
  rm -rf "$out/tensors"
  echo "gpu-check: report in $out/report.md and $out/report.json"
  exit $status
}

case "${1:-}" in
  publish) shift; (($# == 0)) || usage; publish ;;
  run) shift; run "$@" ;;
  *) usage ;;
esac
