#!/usr/bin/env bash
# Makes the BlasLinear package and uses it the way an application does: samples/QuickStart, whose one
# reference is the package, restored from a folder holding it into an empty package cache, runs under
# `dotnet run`, and as a framework-dependent, a self-contained, a single-file and a NativeAOT publish.
# Each run must print the kernels line of the CPU backend's description with BlasLinear's kernels loaded
# (or, on a CPU without AVX-512, loaded and saying so); "not loaded" fails. The NativeAOT publish must
# give no trim or AOT warning. Other packages come from the machine's own package sources.
#
# Usage: scripts/package-check.sh [WORK_FOLDER]   (default: a new temporary folder, removed afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

if [ $# -ge 1 ]; then
  work=$1
  mkdir -p "$work"
  work=$(cd "$work" && pwd)
else
  work=$(mktemp -d -t blaslinear-package-XXXXXX)
  trap 'rm -rf "$work"' EXIT
fi

started=$SECONDS
step() { printf '\npackage-check [%3ds]: %s\n' $((SECONDS - started)) "$*"; }
fail() { echo "package-check: FAILED: $*" >&2; exit 1; }

# The library's own choices only: no override, the CPU backend even where a GPU answers.
unset BLASLINEAR_KERNELS_PATH BLASLINEAR_OPENBLAS_PATH BLASLINEAR_ONEDNN_PATH
export BLASLINEAR_BACKEND=cpu
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

step "dotnet pack BlasLinear.sln -c Release (a CI build: deterministic paths)"
feed=$work/feed
rm -rf "$feed"
CI=true dotnet pack BlasLinear.sln -c Release -o "$feed" -v quiet -nologo
packages=$(cd "$feed" && ls)
echo "$packages"
nupkgs=$(cd "$feed" && ls ./*.nupkg 2>/dev/null | grep -v '\.snupkg$' || true)
[ "$(echo "$nupkgs" | grep -c .)" -eq 1 ] || fail "expected exactly one .nupkg, found: $packages"
nupkg=$feed/${nupkgs#./}
version=$(basename "$nupkg" .nupkg)
version=${version#BlasLinear.}
[ "$(basename "$nupkg")" = "BlasLinear.$version.nupkg" ] || fail "the package is not BlasLinear: $nupkg"
[ -f "$feed/BlasLinear.$version.snupkg" ] || fail "no symbols package BlasLinear.$version.snupkg"
[ "$(echo "$packages" | grep -c .)" -eq 2 ] || fail "expected only the package and its symbols, found: $packages"
contents=$(unzip -Z1 "$nupkg")
for f in lib/net10.0/BlasLinear.dll lib/net10.0/BlasLinear.xml lib/net10.0/BlasLinear.Backends.dll \
         lib/net10.0/BlasLinear.Backends.xml runtimes/linux-x64/native/libblaslinear_kernels.so README.md LICENSE; do
  grep -qx "$f" <<<"$contents" || fail "$f is not in the package"
done
symbols=$(unzip -Z1 "$feed/BlasLinear.$version.snupkg")
for f in lib/net10.0/BlasLinear.pdb lib/net10.0/BlasLinear.Backends.pdb; do
  grep -qx "$f" <<<"$symbols" || fail "$f is not in the symbols package"
done
if grep -q 'cudaemu\|floor' <<<"$contents"; then fail "the emulator or the floor is in the package"; fi
echo "BlasLinear $version: $(echo "$contents" | grep -c .) files, symbols package beside it"

step "the sample, restored from $feed into an empty package cache"
app=$work/QuickStart
rm -rf "$app" "$work/packages"
mkdir -p "$app"
cp "$repo"/samples/QuickStart/*.cs "$repo"/samples/QuickStart/*.csproj "$repo"/samples/QuickStart/Directory.*.props "$app"/
# The folder feed is added to the machine's sources, not put in their place.
cat > "$app/nuget.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="blaslinear-local" value="$feed" />
  </packageSources>
</configuration>
EOF
export NUGET_PACKAGES=$work/packages
cd "$app"
dotnet restore -p:BlasLinearVersion="$version" -v quiet -nologo
restored=$NUGET_PACKAGES/blaslinear/$version/blaslinear.$version.nupkg
cmp -s "$restored" "$nupkg" || fail "the BlasLinear $version restored is not the package just made"

# The kernels line of the description: loaded with AVX-512, or loaded on a CPU without it.
check_kernels() {
  local mode=$1 output=$2 line
  line=$(sed -n 's/^kernels: *//p' <<<"$output")
  [ -n "$line" ] || { printf '%s\n' "$output" >&2; fail "$mode: no kernels line in the description"; }
  case $line in
    /*libblaslinear_kernels.so" (AVX-512)" | /*"libblaslinear_kernels.so: not used, this CPU has no AVX-512")
      printf 'package-check: %-22s kernels: %s\n' "$mode" "$line" ;;
    *)
      printf '%s\n' "$output" >&2
      fail "$mode: the kernels did not load: $line" ;;
  esac
  grep -q '^forward: ' <<<"$output" || fail "$mode: no forward result"
  grep -q '^backward: ' <<<"$output" || fail "$mode: no backward result"
}

step "dotnet run"
out=$(dotnet run -c Release --no-restore -p:BlasLinearVersion="$version")
printf '%s\n' "$out"
check_kernels "dotnet run" "$out"

step "framework-dependent publish"
dotnet publish -c Release --no-restore -p:BlasLinearVersion="$version" -o "$work/publish-fd" -v quiet -nologo
check_kernels "framework-dependent" "$(dotnet "$work/publish-fd/QuickStart.dll")"

step "self-contained publish (linux-x64)"
dotnet publish -c Release -r linux-x64 --self-contained -p:BlasLinearVersion="$version" -o "$work/publish-sc" -v quiet -nologo
check_kernels "self-contained" "$("$work/publish-sc/QuickStart")"

step "single-file publish (linux-x64), native libraries beside it and inside it"
dotnet publish -c Release -r linux-x64 --self-contained -p:PublishSingleFile=true -p:BlasLinearVersion="$version" \
  -o "$work/publish-single" -v quiet -nologo
check_kernels "single-file" "$("$work/publish-single/QuickStart")"
dotnet publish -c Release -r linux-x64 --self-contained -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true \
  -p:BlasLinearVersion="$version" -o "$work/publish-single-extract" -v quiet -nologo
[ ! -e "$work/publish-single-extract/libblaslinear_kernels.so" ] || fail "single-file with extraction left the kernels beside it"
check_kernels "single-file, extracted" "$(DOTNET_BUNDLE_EXTRACT_BASE_DIR=$work/extract "$work/publish-single-extract/QuickStart")"

step "NativeAOT publish (linux-x64)"
aot_started=$SECONDS
aot_log=$work/publish-aot.log
dotnet publish -c Release -r linux-x64 -p:PublishAot=true -p:BlasLinearVersion="$version" -o "$work/publish-aot" \
  -v normal -nologo -clp:NoSummary > "$aot_log" 2>&1 || { tail -n 50 "$aot_log" >&2; fail "NativeAOT publish"; }
warnings=$(grep -E 'warning (IL|CS)[0-9]+' "$aot_log" | sort -u || true)
count=$(printf '%s' "$warnings" | grep -c . || true)
echo "package-check: NativeAOT publish: $count trim/AOT warnings, $((SECONDS - aot_started)) s"
[ "$count" -eq 0 ] || { printf '%s\n' "$warnings" >&2; fail "the NativeAOT publish warned"; }
check_kernels "NativeAOT" "$("$work/publish-aot/QuickStart")"

step "done: BlasLinear $version loads its kernels in every mode"
