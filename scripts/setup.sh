#!/usr/bin/env bash
# Installs what BlasLinear needs on Debian/Ubuntu and is a no-op when it is all there: OpenBLAS (the
# runtime package only; the native code declares the CBLAS prototypes it uses), oneDNN (runtime only,
# optional for the library: the CPU backend routes the products where it wins to it, and the tests run
# the GEMM suite on it), and cmake, a C compiler and flock for the C parts in native/; objdump for the
# kernels' portability check; the reference BLAS (libblas3), which the override tests must see refused;
# clang and zlib's headers, which a NativeAOT publish links with (scripts/package-check.sh); and Debian's
# PyTorch for /usr/bin/python3 (the oracle of the safetensors parity tests, which fall back to committed
# fixtures without it). The .NET 10 SDK must already be installed.
set -euo pipefail

need=()
ldconfig -p | grep -q 'libopenblas\.so\.0 ' || need+=(libopenblas0-pthread)
ldconfig -p | grep -q 'libdnnl\.so\.[23] ' || need+=(libdnnl2)
command -v cmake >/dev/null || need+=(cmake)
command -v cc >/dev/null || need+=(gcc)
command -v make >/dev/null || need+=(make)
command -v flock >/dev/null || need+=(util-linux)
command -v objdump >/dev/null || need+=(binutils)
[ -e /usr/lib/x86_64-linux-gnu/blas/libblas.so.3 ] || need+=(libblas3)
command -v clang >/dev/null || need+=(clang)
[ -e /usr/include/zlib.h ] || need+=(zlib1g-dev)
/usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || need+=(python3-torch)

if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "setup: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null; then
  echo "setup: the .NET 10 SDK is required (dotnet was not found on PATH)" >&2
  exit 1
fi
