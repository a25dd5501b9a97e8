#!/usr/bin/python3
"""compose.yaml as docker-compose resolves it (`docker-compose config`), checked against
the rest of the kit.

    check_compose.py REPO DOCKER_COMPOSE EXPORTER WORKLOAD

- the services: PostgreSQL with pg_stat_statements and its init script, the workload's
  schema, probe audio and service, the exporter, Prometheus, Alertmanager, Grafana;
- secrets: no environment value holds one; every *_FILE names a secret the service mounts;
  every secret file is one deploy/compose/make-secrets writes, Alertmanager's included;
- the exporter reads the host read-only (pid: host, /proc, /sys, / mounted ro), runs with
  a read-only root and no capabilities, and every flag of its command is in --help; the
  workload's commands are afp_workload's;
- the images scripts/image builds; Prometheus' afp job scrapes the exporter with
  deploy/prometheus.yml's interval and timeout; Grafana's data source is the shipped one
  but for its URL, which is the compose Prometheus.
"""
import os
import re
import subprocess
import sys

import yaml

from help_flags import help_flags

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def volumes(spec):
    """{target: (source, options)}: docker-compose 1.x prints SOURCE:TARGET[:OPTIONS]."""
    out = {}
    for v in spec.get("volumes", []):
        if isinstance(v, dict):
            out[v["target"]] = (v.get("source"), "ro" if v.get("read_only") else "rw")
        else:
            parts = v.split(":")
            out[parts[1]] = (parts[0], parts[2] if len(parts) > 2 else "rw")
    return out


def flags_of(command):
    return [a[2:].split("=", 1)[0] for a in command if a.startswith("--")]


def check_secrets(repo, config):
    writer = open(os.path.join(repo, "deploy/compose/make-secrets")).read()
    written = set(re.findall(r"keep_or_write (secrets/\S+)", writer))
    for name, secret in config.get("secrets", {}).items():
        rel = os.path.relpath(secret["file"], os.path.join(repo, "deploy/compose"))
        check(rel in written, f"secret {name}: make-secrets does not write {rel}")
    for service, spec in config["services"].items():
        mounted = {s["source"] if isinstance(s, dict) else s for s in spec.get("secrets", [])}
        for key, value in (spec.get("environment") or {}).items():
            value = str(value)
            if key.endswith("_FILE"):
                check(value.startswith("/run/secrets/") and value.split("/")[-1] in mounted,
                      f"{service}: {key}={value} is not a secret the service mounts")
            else:
                check(not re.search(r"password|token|://[^/]*@", f"{key}={value}", re.I),
                      f"{service}: {key} holds a secret literally")
    am = open(os.path.join(repo, "alertmanager/alertmanager.yml")).read()
    for name in sorted(set(re.findall(r"/etc/alertmanager/secrets/(\w+)", am))):
        check(f"secrets/alertmanager/{name}" in written,
              f"alertmanager.yml reads secrets/{name}, which make-secrets does not write")


def check_exporter(spec, exporter_flags):
    mounts = volumes(spec)
    check(spec.get("pid") == "host", "exporter: not in the host's PID namespace")
    for host, target, flag in (("/proc", "/host/proc", "path.procfs"), ("/sys", "/host/sys", "path.sysfs"),
                               ("/", "/host/root", "path.rootfs")):
        source, options = mounts.get(target, (None, ""))
        check(source == host and "ro" in options.split(","),
              f"exporter: the host's {host} is not mounted read-only at {target}")
        check(f"--{flag}={target}" in spec["command"], f"exporter: --{flag} is not {target}")
    check(spec.get("read_only") is True, "exporter: root file system writable")
    check(spec.get("cap_drop") == ["ALL"], "exporter: capabilities not dropped")
    for flag in flags_of(spec["command"]):
        check(flag in exporter_flags, f"exporter: --{flag} is not a flag of afp_exporter")


def check_workload(config, workload):
    commands = subprocess.run([workload, "--help"], capture_output=True, text=True).stdout
    for name, spec in config["services"].items():
        if spec.get("image") != "afp_workload:latest":
            continue
        command = spec["command"]
        if not check(re.search(rf"^  {re.escape(command[0])}\s", commands, re.M),
                     f"{name}: afp_workload has no command {command[0]}"):
            continue
        allowed = help_flags([workload, command[0]])
        for flag in flags_of(command):
            check(flag in allowed, f"{name}: afp_workload {command[0]} has no flag --{flag}")


def check_prometheus(repo, config):
    spec = config["services"]["prometheus"]
    sources = {os.path.relpath(source, repo): target
               for target, (source, _) in volumes(spec).items() if source.startswith("/")}
    check(sources.get("deploy/compose/prometheus.yml") == "/etc/prometheus/prometheus.yml",
          "prometheus: deploy/compose/prometheus.yml is not its configuration")
    check(sources.get("rules") == "/etc/prometheus/rules/afp", "prometheus: rules/ not mounted")
    ours = yaml.safe_load(open(os.path.join(repo, "deploy/compose/prometheus.yml")))
    shipped = yaml.safe_load(open(os.path.join(repo, "deploy/prometheus.yml")))
    job = lambda cfg: next(j for j in cfg["scrape_configs"] if j["job_name"] == "afp")
    for key in ("scrape_interval", "scrape_timeout"):
        check(job(ours).get(key) == job(shipped).get(key), f"prometheus: afp job {key} differs")
    check(ours["rule_files"] == shipped["rule_files"], "prometheus: rule_files differ")
    targets = [t for sc in job(ours)["static_configs"] for t in sc["targets"]]
    check(targets == ["exporter:9793"], f"prometheus: afp targets {targets}")


def check_grafana(repo, config):
    ours = yaml.safe_load(open(os.path.join(repo, "deploy/compose/grafana-datasource.yml")))
    shipped = yaml.safe_load(open(os.path.join(repo, "grafana/provisioning/datasources/prometheus.yml")))
    url = ours["datasources"][0].pop("url")
    shipped["datasources"][0].pop("url")
    check(ours == shipped, "grafana: the data source differs from the shipped one beyond its URL")
    check(url == "http://prometheus:9090", f"grafana: data source URL {url}")


def main(repo, docker_compose, exporter, workload):
    run = subprocess.run([docker_compose, "-f", os.path.join(repo, "compose.yaml"), "config"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"docker-compose config refuses compose.yaml:\n{run.stderr}")
    config = yaml.safe_load(run.stdout)
    services = config["services"]
    want = {"postgres", "schema", "probe-audio", "workload", "exporter", "prometheus",
            "alertmanager", "grafana"}
    check(set(services) == want, f"services {sorted(services)}, want {sorted(want)}")
    check("shared_preload_libraries=pg_stat_statements" in services["postgres"]["command"],
          "postgres: pg_stat_statements not preloaded")
    image_script = open(os.path.join(repo, "scripts/image")).read()
    for name, image in (("exporter", "afp_exporter:latest"), ("workload", "afp_workload:latest")):
        check(services[name].get("image") == image and image in image_script,
              f"{name}: image {services[name].get('image')} is not what scripts/image builds")
    check_secrets(repo, config)
    check_exporter(services["exporter"], help_flags([exporter]))
    check_workload(config, workload)
    check_prometheus(repo, config)
    check_grafana(repo, config)
    for failure in failures:
        print("FAIL", failure)
    if not failures:
        print(f"compose.yaml: {len(services)} services valid for docker-compose and consistent "
              "with the kit")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
