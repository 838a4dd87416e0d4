#!/bin/sh
# Checks that libblaslinear_kernels.so can be shipped to any x86-64 Linux with glibc 2.31 or later and
# loaded on any x86-64 CPU, one without AVX2 or AVX-512 included:
#   - no dynamic symbol needs a GLIBC_ version above 2.31, and it needs no library but glibc's own;
#   - it exports only the blk_ entry points, and has no ifunc (an ifunc resolver runs at load time);
#   - nothing that runs before the caller asks blk_cpu_isa() - the init and fini arrays, _init, _fini -
#     nor blk_cpu_isa() itself, nor anything they call, uses an AVX-512 register, a ymm register or any
#     VEX/EVEX-encoded (v-prefixed) instruction: what runs before the check may assume SSE2 only.
# Usage: check_portable.sh LIBRARY [OBJDUMP] [READELF]
set -eu
lib=$1
objdump=${2:-objdump}
readelf=${3:-readelf}
max_glibc=2.31
fail=0
say() { echo "check_portable: $*"; }

versions=$("$objdump" -T "$lib" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -u -V)
newest=$(printf '%s\n' "$max_glibc" $versions | sort -V | tail -n 1)
if [ "$newest" != "$max_glibc" ]; then
  say "needs glibc $newest (symbol versions: $(echo $versions)); the limit is $max_glibc"
  "$objdump" -T "$lib" | grep GLIBC_ >&2
  fail=1
else
  say "glibc symbol versions: $(echo ${versions:-none}) (limit $max_glibc)"
fi

needed=$("$readelf" -dW "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
for n in $needed; do
  case $n in
    libc.so.6|libm.so.6|ld-linux-x86-64.so.2) ;;
    *) say "needs $n: only glibc's libraries may be needed"; fail=1 ;;
  esac
done

exports=$("$objdump" -T "$lib" | awk '$2 == "g" && $0 !~ /\*UND\*/ { print $NF }' | sort)
for e in $exports; do
  case $e in
    blk_*) ;;
    *) say "exports $e: only blk_ entry points may be exported"; fail=1 ;;
  esac
done
echo "$exports" | grep -qx blk_cpu_isa || { say "does not export blk_cpu_isa"; fail=1; }

if "$readelf" -sW --dyn-syms "$lib" | grep -q IFUNC || "$readelf" -rW "$lib" | grep -q IRELATIV; then
  say "has an ifunc, whose resolver would run at load time"
  fail=1
fi

# The functions the loader runs (init/fini arrays, through their R_X86_64_RELATIVE relocations) and
# blk_cpu_isa, then everything they call or jump to.
roots="_init _fini blk_cpu_isa"
disassembly=$("$objdump" -d --no-show-raw-insn "$lib")
symbols=$(echo "$disassembly" | awk '/^[0-9a-f]+ <[^>]+>:$/ { a = $1; sub(/^0+/, "", a); n = $2; gsub(/[<>:]/, "", n); print a, n }')
relocations=$("$readelf" -rW "$lib" | awk '$3 == "R_X86_64_RELATIVE" { print $1, $4 }')
for range in $("$readelf" -SW "$lib" | awk '$2 ~ /^\.(init|fini)_array$/ { print $4 ":" $6 }'); do
  start=$(printf '%d' "0x${range%%:*}")
  end=$((start + $(printf '%d' "0x${range##*:}")))
  echo "$relocations" | while read -r offset target; do
    [ -n "$offset" ] || continue
    o=$(printf '%d' "0x$offset")
    if [ "$o" -ge "$start" ] && [ "$o" -lt "$end" ]; then echo "$target"; fi
  done
done > "${TMPDIR:-/tmp}/check_portable.$$"
for target in $(cat "${TMPDIR:-/tmp}/check_portable.$$"); do
  t=$(echo "$target" | sed 's/^0*//')
  name=$(echo "$symbols" | awk -v a="$t" '$1 == a { print $2 }')
  roots="$roots ${name:-?$target}"
done
rm -f "${TMPDIR:-/tmp}/check_portable.$$"

# AVX-512: zmm, mask registers, xmm/ymm 16-31. AVX: any ymm register, or a v-prefixed mnemonic (VEX and
# EVEX encodings; objdump prints "address:<tab>mnemonic").
avx512='%zmm|%k[0-7]\b|%[xy]mm(1[6-9]|2[0-9]|3[01])\b|\{%k'
avx='%ymm[0-9]|:[[:space:]]+v[a-z0-9]+([[:space:]]|$)'
seen=""
queue=$roots
while [ -n "$queue" ]; do
  set -- $queue
  f=$1
  shift
  queue=$*
  case " $seen " in *" $f "*) continue ;; esac
  seen="$seen $f"
  body=$(echo "$disassembly" | awk -v f="$f" '$0 ~ "^[0-9a-f]+ <" f ">:$" { on = 1; next } /^$/ { on = 0 } on')
  if [ -z "$body" ]; then
    say "no code found for $f, which runs at load time or from blk_cpu_isa"
    fail=1
    continue
  fi
  if echo "$body" | grep -Eq "$avx512"; then
    say "$f runs before the ISA check and uses AVX-512:"
    echo "$body" | grep -E "$avx512" | head -n 5 >&2
    fail=1
  fi
  if echo "$body" | grep -Eq "$avx"; then
    say "$f runs before the ISA check and uses AVX (ymm registers or a VEX-encoded instruction):"
    echo "$body" | grep -E "$avx" | head -n 5 >&2
    fail=1
  fi
  # Calls through the PLT go to glibc.
  for callee in $(echo "$body" | grep -v '@plt>' | sed -n 's/.*\(call\|jmp\)[a-z]* *[0-9a-f]* <\([^>+@]*\)[>+@].*/\2/p' | sort -u); do
    queue="$queue $callee"
  done
done
say "run before the ISA check, none with AVX or AVX-512:$seen"

if [ "$fail" -eq 0 ]; then say "portable"; else say "NOT portable"; fi
exit "$fail"
