# Sourced by scripts/test and scripts/demo: installs the Debian packages they need.

# Build dependencies and the tools the tests run.
# libboost-dev: Boost.Asio and Beast, header-only, for the HTTP server and client.
AFP_BUILD_PACKAGES=(cmake g++ make pkg-config git prometheus-cpp-dev libboost-dev libpq-dev
  nlohmann-json3-dev catch2 zlib1g-dev libcurl4-openssl-dev libyaml-cpp-dev libssl-dev
  libcrypt-dev libkissfft-dev libsndfile1-dev)
# What scripts/package needs besides the build: the manual page, dpkg-shlibdeps, fakeroot;
# lintian checks the package (its test).
AFP_PACKAGE_PACKAGES=(help2man dpkg-dev fakeroot lintian)
# What scripts/demo runs besides the build.
AFP_DEMO_PACKAGES=(prometheus prometheus-alertmanager postgresql postgresql-contrib python3-yaml
  python3-aiosmtpd openssl curl)
# jsonnet renders the mixin (mixin/render); the two exporters run in the coexistence e2e test;
# pytest, FastAPI (with Starlette), httpx (Starlette's test client) and venv test the Python
# client (clients/python); docker-compose validates compose.yaml; clang-format and clang-tidy
# are the style tests (tests/style/).
AFP_TEST_PACKAGES=(strace systemd prometheus prometheus-alertmanager python3-yaml python3-aiosmtpd python3-jsonschema curl jq openssl postgresql postgresql-contrib
  jsonnet prometheus-node-exporter prometheus-postgres-exporter
  python3-pytest python3-fastapi python3-httpx python3-venv docker-compose clang-format clang-tidy)

ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
    return 2
  fi
  echo "installing: ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}
