#!/usr/bin/env bash
# The Debian package as a user gets it: scripts/package builds it from BUILD_DIR, lintian
# finds no error, and unpacked into a throw-away root it holds every file the README lists,
# a binary that runs, a manual page, and a unit systemd-analyze accepts with the sandbox of
# deploy/afp_exporter.service (exposure at most MAX_EXPOSURE).
#
#   check_package.sh REPO BUILD_DIR SYSTEMD_ANALYZE MAX_EXPOSURE
set -euo pipefail
repo=$1
build=$2
analyze=$3
max_exposure=$4
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

deb=$("$repo/scripts/package" "$build")
echo "package: $deb ($(du -k "$deb" | cut -f1) KiB)"

lintian --fail-on error "$deb" 2>/dev/null || fail "lintian reports errors (above)"
for script in postinst prerm postrm; do
  dpkg-deb --ctrl-tarfile "$deb" | tar -xO "./$script" | sh -n || fail "$script: not valid sh"
done

depends=$(dpkg-deb -f "$deb" Depends)
# dlopen()ed (the last three by afp_web_security.so), or used by postinst
for library in libpq5 libcurl4 adduser libssl3 libyaml-cpp0.7 libcrypt1; do
  [[ ", $depends," == *", $library"[\ ,]* ]] || fail "Depends lacks $library: $depends"
done

dpkg-deb -x "$deb" "$root"
for file in usr/bin/afp_exporter usr/lib/afp-exporter/afp_web_security.so \
  lib/systemd/system/afp_exporter.service \
  etc/default/afp-exporter etc/afp_exporter/afp_exporter.json \
  usr/share/man/man1/afp_exporter.1.gz usr/share/doc/afp-exporter/runbook.md.gz \
  usr/share/doc/afp-exporter/copyright usr/share/afp-exporter/rules/afp-alerts.yml \
  usr/share/afp-exporter/rules/afp-recording.yml usr/share/afp-exporter/alertmanager/alertmanager.yml \
  usr/share/afp-exporter/alertmanager/route.yml usr/share/afp-exporter/grafana/dashboards/afp-overview.json; do
  [ -f "$root/$file" ] || fail "the package has no /$file"
done
conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)
[ "$conffiles" = $'/etc/afp_exporter/afp_exporter.json\n/etc/default/afp-exporter' ] ||
  fail "conffiles: $conffiles"

version=$("$root/usr/bin/afp_exporter" --version)
[[ "$version" == *"$(dpkg-deb -f "$deb" Version)"* ]] || fail "--version says: $version"
# The binary finds its module in the package's layout (bcrypt is the module's).
hash=$(printf 'secret\n' | "$root/usr/bin/afp_exporter" web hash-password --cost 4)
[[ "$hash" == '$2b$04$'* ]] || fail "web hash-password from the package printed: $hash"
# Font changes (\fB) and escaped hyphens (\-) removed, the roff reads as the help text.
# Each text is read whole before grep -q looks at it: grep -q stops at the first match,
# and under pipefail the writer it leaves behind would fail the check with SIGPIPE.
manual=$(zcat "$root/usr/share/man/man1/afp_exporter.1.gz" | sed 's/\\f[BIR]//g; s/\\-/-/g')
grep -q -- '--web.listen-address' <<<"$manual" || fail "the manual page lacks --web.listen-address"
sections=$(readelf -S "$root/usr/bin/afp_exporter")
! grep -q '\.symtab' <<<"$sections" || fail "the binary is not stripped"

unit=$root/lib/systemd/system/afp_exporter.service
grep -q '^User=afp_exporter$' "$unit" && ! grep -q '^DynamicUser' "$unit" ||
  fail "the unit does not run as the package's system user"
"$repo/deploy/tests/unit_analyze.sh" verify "$analyze" "$root/usr/bin/afp_exporter" "$unit"
"$repo/deploy/tests/unit_analyze.sh" security "$analyze" "$root/usr/bin/afp_exporter" "$unit" \
  "$max_exposure" | tail -n 2
echo "ok: lintian clean of errors, $(dpkg-deb -c "$deb" | grep -c '^-') files, $version"
