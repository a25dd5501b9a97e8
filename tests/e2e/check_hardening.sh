#!/usr/bin/env bash
# The binaries carry the hardening every build type must give them: position-independent,
# full RELRO (relro + bind-now), stack protector, and (in optimised builds) fortified libc
# calls. Reads the ELF files only; runs nothing.
#
#   check_hardening.sh BUILD_TYPE BINARY...
set -euo pipefail
build_type=$1
shift
failed=0
fail() {
  echo "$1: $2" >&2
  failed=1
}
for binary in "$@"; do
  headers=$(readelf -W -h -l -d "$binary")
  symbols=$(readelf -W --dyn-syms "$binary")
  grep -q 'Type:[[:space:]]*DYN' <<<"$headers" || fail "$binary" "not position-independent (ELF type is not DYN)"
  grep -q 'FLAGS_1.*PIE' <<<"$headers" || fail "$binary" "no PIE flag"
  grep -q 'GNU_RELRO' <<<"$headers" || fail "$binary" "no RELRO segment (-z relro)"
  grep -Eq 'BIND_NOW|FLAGS.*NOW' <<<"$headers" || fail "$binary" "lazy binding (-z now missing)"
  grep -q '__stack_chk_fail' <<<"$symbols" || fail "$binary" "no stack protector"
  if [ "$build_type" != Debug ]; then
    grep -Eq '__[a-z_]+_chk@' <<<"$symbols" || fail "$binary" "no fortified libc call (_FORTIFY_SOURCE)"
  fi
  [ "$failed" = 0 ] && echo "$binary: PIE, full RELRO, stack protector$([ "$build_type" != Debug ] && echo ", fortified")"
done
exit "$failed"
