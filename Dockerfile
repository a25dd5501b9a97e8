# afp_exporter's container image: built on Debian 12, run on debian:12-slim with only the
# libraries the binary links or loads (libpq, libcurl and afp_web_security.so, with OpenSSL,
# yaml-cpp and libcrypt, are dlopen()ed), as an
# unprivileged user. `scripts/image` builds it (and, with no registry at hand, makes the
# Debian base images itself); `scripts/image run` runs it against the host.
#
# Host metrics from a container: mount the host's /proc, /sys and / read-only and point
# the exporter at them, in the host's PID namespace (README, "Container"):
#   --pid=host -v /proc:/host/proc:ro -v /sys:/host/sys:ro -v /:/host/root:ro,rslave
#   afp_exporter:latest --path.procfs=/host/proc --path.sysfs=/host/sys --path.rootfs=/host/root
#
# Targets: the default (last) stage is the exporter; `--target workload` builds the
# reference workload the compose file runs.

FROM debian:12 AS build
COPY scripts/lib/packages.sh /tmp/packages.sh
# The build's Debian packages are scripts/lib/packages.sh's, the list scripts/test uses (a
# bash array: bash -c, since podman's OCI format ignores SHELL).
RUN bash -c 'source /tmp/packages.sh \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       "${AFP_BUILD_PACKAGES[@]}" \
    && rm -rf /var/lib/apt/lists/*'
COPY . /src
ARG BUILD_JOBS=2
# The context has no .git: scripts/image passes the checkout's revision.
ARG REVISION=
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DAFP_BENCHMARKS=OFF \
      -DAFP_REVISION="${REVISION}" >/dev/null \
    && cmake --build /build -j"${BUILD_JOBS}" --target afp_exporter afp_web_security afp_workload \
    && strip /build/exporter/afp_exporter /build/workload/afp_workload \
    && strip --strip-unneeded /build/exporter/afp_web_security.so
# The runtime packages: those owning the libraries each binary links (what dpkg-shlibdeps
# would find), written down for the stages below. By directory and file name: ldd may
# print /lib/... for a library dpkg registered under /usr/lib/... (merged /usr).
RUN bash -o pipefail -c 'for binary in exporter/afp_exporter exporter/afp_web_security.so \
      workload/afp_workload; do \
      for library in $(ldd "/build/$binary" | awk "\$3 ~ /^\\// { print \$3 }"); do \
        dpkg -S "*/$(basename "$(dirname "$library")")/$(basename "$library")" | cut -d: -f1; \
      done | sort -u >"/build/$(basename "$binary").packages" || exit 1; \
    done'

FROM debian:12-slim AS workload
COPY --from=build /build/afp_workload.packages /tmp/
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       $(cat /tmp/afp_workload.packages) libpq5 \
    && rm -rf /var/lib/apt/lists/* /tmp/afp_workload.packages
COPY --from=build /build/workload/afp_workload /usr/bin/afp_workload
USER 65534:65534
EXPOSE 8080
ENTRYPOINT ["/usr/bin/afp_workload"]

FROM debian:12-slim
ARG VERSION=unknown
ARG REVISION=
LABEL org.opencontainers.image.title="afp_exporter" \
      org.opencontainers.image.description="Prometheus exporter for audio-fingerprinting services: host, pipeline and PostgreSQL metrics" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="debian:12-slim"
COPY --from=build /build/afp_exporter.packages /build/afp_web_security.so.packages /tmp/
# libpq5 and libcurl4 are loaded with dlopen (a DSN, a probe), so ldd does not list them;
# the module's libraries are its own ldd's; ca-certificates lets the probe verify an https app.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       $(cat /tmp/afp_exporter.packages /tmp/afp_web_security.so.packages) libpq5 libcurl4 \
       libssl3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* /tmp/afp_exporter.packages /tmp/afp_web_security.so.packages
COPY --from=build /build/exporter/afp_exporter /usr/bin/afp_exporter
# Where the binary looks for it: <exe dir>/../lib/afp-exporter/.
COPY --from=build /build/exporter/afp_web_security.so /usr/lib/afp-exporter/afp_web_security.so
# nobody:nogroup. Secrets are files mounted read-only (AFP_PG_DSN_FILE, AFP_INGEST_TOKEN_FILE).
USER 65534:65534
EXPOSE 9793
ENTRYPOINT ["/usr/bin/afp_exporter"]
