#!/usr/bin/env bash
# Every C++ file of the repository is formatted as .clang-format says: clang-format
# --dry-run -Werror names each file and line that `clang-format -i FILE` would change.
#
#   clang_format.sh CLANG_FORMAT SOURCE_DIR
set -euo pipefail
clang_format=$1
cd "$2"
mapfile -d '' files < <(find exporter workload tests bench \( -name '*.cpp' -o -name '*.h' \) \
  -not -path '*/corpus/*' -not -path '*/regressions/*' -print0 | sort -z)
((${#files[@]} > 0)) || { echo "no C++ files found under $PWD" >&2; exit 1; }
"$clang_format" --dry-run -Werror "${files[@]}"
echo "${#files[@]} files formatted as .clang-format says"
