#!/usr/bin/env bash
# clang-tidy with the checks of .clang-tidy (warnings are errors there) over the files of
# the compile database (CMAKE_EXPORT_COMPILE_COMMANDS) under SOURCE_DIR/DIR, two at a time.
#
#   clang_tidy.sh RUN_CLANG_TIDY CLANG_TIDY BUILD_DIR SOURCE_DIR DIR
set -euo pipefail
run_clang_tidy=$1 clang_tidy=$2 build_dir=$3 source_dir=$4 dir=$5
[ -f "$build_dir/compile_commands.json" ] ||
  { echo "no $build_dir/compile_commands.json: configure with CMAKE_EXPORT_COMPILE_COMMANDS" >&2; exit 1; }
start=$SECONDS
# run-clang-tidy takes regular expressions of the files to check.
# Only the findings are printed: not the command lines, the colours or the counts of
# warnings from checks that are off.
set +e
"$run_clang_tidy" -quiet -clang-tidy-binary "$clang_tidy" -p "$build_dir" -j 2 \
  "^$source_dir/$dir/" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' |
  grep -v -e "^$clang_tidy " -e '^[0-9]* warnings\? generated\.$' -e '^$'
status=${PIPESTATUS[0]}
set -e
echo "clang-tidy over $dir: $((SECONDS - start)) s, exit $status"
exit "$status"
