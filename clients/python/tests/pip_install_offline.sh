#!/usr/bin/env bash
# `pip install ./clients/python` into a fresh venv with no package index reachable: the
# client and its build backend need nothing but the standard library. Then the installed
# copy (not the source tree) must import, with the version the package declares.
#
#   pip_install_offline.sh PYTHON3 CLIENT_DIR
set -euo pipefail
python=$1
client=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$python" -m venv "$work/venv"
# Any attempt to reach an index fails at once instead of hanging on a closed network.
PIP_INDEX_URL=http://127.0.0.1:9/simple PIP_DISABLE_PIP_VERSION_CHECK=1 \
  "$work/venv/bin/pip" install --quiet "$client"
cd "$work"
installed=$("$work/venv/bin/python" -c '
import afp_client, afp_client.middleware, afp_client.statsd_transport
print(afp_client.__version__, afp_client.__file__)')
declared=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$client/afp_client/__init__.py")
case "$installed" in
  "$declared $work/venv/"*) echo "installed afp_client $installed" ;;
  *) echo "FAIL: expected afp_client $declared from the venv, got: $installed" >&2; exit 1 ;;
esac
