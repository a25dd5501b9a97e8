#!/usr/bin/python3
"""deploy/kubernetes/ checked structurally, the way a cluster would read it.

    check_kubernetes.py KUBERNETES_DIR RULES_DIR DASHBOARDS_DIR EXPORTER

- kustomization.yaml lists every manifest, and every manifest it lists exists;
- the kinds: a DaemonSet (hostPID, no hostNetwork, the host's /proc, /sys and / read-only
  and passed to --path.*), a Deployment (the DSN from a Secret file, nothing literal), a
  Service for each, a ServiceMonitor, the PrometheusRule, the dashboard ConfigMaps, the
  AlertmanagerConfig;
- selectors: each workload's selector matches its pod labels, each Service selects exactly
  one workload's pods, the ServiceMonitor selects every Service by a port they all have;
- ports and probes: targetPort names a container port, liveness on /-/healthy and
  readiness on /-/ready of the metrics port;
- securityContext: non-root, read-only root filesystem, no privilege escalation, every
  capability dropped;
- every flag in the containers' args is one `EXPORTER --help` lists;
- the images carry no registry host;
- the PrometheusRule's groups are rules/*.yml's, the ConfigMaps' dashboards are
  grafana/dashboards/*.json's.
"""
import glob
import json
import os
import re
import sys

import yaml

from help_flags import help_flags

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def load(directory):
    docs = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.yaml"))):
        docs[os.path.basename(path)] = [d for d in yaml.safe_load_all(open(path)) if d]
    return docs


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def check_pod(kind, name, pod, flags):
    spec = pod["spec"]
    check(spec.get("automountServiceAccountToken") is False,
          f"{kind} {name}: mounts a service account token it does not need")
    pod_security = spec.get("securityContext", {})
    check(pod_security.get("runAsNonRoot") is True, f"{kind} {name}: runAsNonRoot is not true")
    check(pod_security.get("runAsUser", 0) != 0, f"{kind} {name}: runs as uid 0")
    mounts = {}
    for container in spec["containers"]:
        where = f"{kind} {name} container {container['name']}"
        security = container.get("securityContext", {})
        check(security.get("readOnlyRootFilesystem") is True, f"{where}: root filesystem writable")
        check(security.get("allowPrivilegeEscalation") is False, f"{where}: privilege escalation allowed")
        check(security.get("capabilities", {}).get("drop") == ["ALL"], f"{where}: capabilities not all dropped")
        check("/" not in container["image"].split(":")[0] or
              "." not in container["image"].split("/")[0] and ":" not in container["image"].split("/")[0],
              f"{where}: image {container['image']} names a registry host")
        for arg in container.get("args", []):
            flag = arg[2:].split("=", 1)[0] if arg.startswith("--") else None
            check(flag in flags, f"{where}: {arg} is not a flag of afp_exporter --help")
        for env in container.get("env", []):
            value = str(env.get("value", ""))
            check(not re.search(r"password|postgres(ql)?://|host=", value, re.I),
                  f"{where}: env {env['name']} holds a secret literally")
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        check("metrics" in ports, f"{where}: no container port named metrics")
        for probe, path in (("livenessProbe", "/-/healthy"), ("readinessProbe", "/-/ready")):
            get = container.get(probe, {}).get("httpGet", {})
            check(get.get("path") == path and get.get("port") in ("metrics", ports.get("metrics")),
                  f"{where}: {probe} is not GET {path} on the metrics port")
        for mount in container.get("volumeMounts", []):
            mounts[mount["name"]] = mount
    return mounts, {p["name"] for c in spec["containers"] for p in c.get("ports", [])}


def check_daemonset(ds, mounts):
    spec = ds["spec"]["template"]["spec"]
    check(spec.get("hostPID") is True, "DaemonSet: hostPID is not true")
    check(not spec.get("hostNetwork"), "DaemonSet: hostNetwork is on")
    host_paths = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v}
    args = spec["containers"][0].get("args", [])
    for flag, host_path in (("path.procfs", "/proc"), ("path.sysfs", "/sys"), ("path.rootfs", "/")):
        volume = next((n for n, p in host_paths.items() if p == host_path), None)
        if not check(volume and volume in mounts, f"DaemonSet: the host's {host_path} is not mounted"):
            continue
        check(mounts[volume].get("readOnly") is True, f"DaemonSet: the host's {host_path} is writable")
        check(f"--{flag}={mounts[volume]['mountPath']}" in args,
              f"DaemonSet: --{flag} does not point at the host's {host_path}")
    for name in host_paths:
        check(mounts.get(name, {}).get("readOnly") is True, f"DaemonSet: host path {name} writable")


def check_deployment(deployment, mounts):
    spec = deployment["spec"]["template"]["spec"]
    env = {e["name"]: e for e in spec["containers"][0].get("env", [])}
    dsn = env.get("AFP_PG_DSN_FILE", {}).get("value", "")
    secret_volumes = {v["name"] for v in spec["volumes"] if "secret" in v}
    check(any(dsn.startswith(m["mountPath"] + "/") for n, m in mounts.items() if n in secret_volumes),
          "Deployment: AFP_PG_DSN_FILE is not a file of a mounted Secret")
    check("AFP_PG_DSN" not in env and "DATA_SOURCE_NAME" not in env,
          "Deployment: a DSN in the environment")


def check_selection(objects):
    workloads = [o for o in objects if o["kind"] in ("DaemonSet", "Deployment")]
    services = [o for o in objects if o["kind"] == "Service"]
    for w in workloads:
        labels = w["spec"]["template"]["metadata"]["labels"]
        check(matches(w["spec"]["selector"]["matchLabels"], labels),
              f"{w['kind']} {w['metadata']['name']}: selector does not match its pod labels")
    ports_of = {}
    for s in services:
        selected = [w for w in workloads
                    if matches(s["spec"]["selector"], w["spec"]["template"]["metadata"]["labels"])]
        check(len(selected) == 1, f"Service {s['metadata']['name']}: selects {len(selected)} workloads")
        container_ports = {p["name"] for w in selected
                           for c in w["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
        for port in s["spec"]["ports"]:
            check(port.get("targetPort") in container_ports,
                  f"Service {s['metadata']['name']}: targetPort {port.get('targetPort')} is no container port")
        ports_of[s["metadata"]["name"]] = {p["name"] for p in s["spec"]["ports"]}
    monitors = [o for o in objects if o["kind"] == "ServiceMonitor"]
    for m in monitors:
        chosen = [s for s in services if matches(m["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])]
        check(len(chosen) == len(services), f"ServiceMonitor {m['metadata']['name']}: selects "
              f"{len(chosen)} of {len(services)} Services")
        for endpoint in m["spec"]["endpoints"]:
            check(all(endpoint["port"] in ports_of[s["metadata"]["name"]] for s in chosen),
                  f"ServiceMonitor: port {endpoint['port']} is not on every Service")
        job = m["spec"].get("jobLabel")
        check(all(s["metadata"]["labels"].get(job) == "afp" for s in chosen),
              "ServiceMonitor: the job label is not afp (the rules' selector job=\"afp\")")


def check_generated(objects, rules_dir, dashboards_dir):
    rule = [o for o in objects if o["kind"] == "PrometheusRule"]
    if check(len(rule) == 1, f"{len(rule)} PrometheusRules"):
        groups = [g for path in sorted(glob.glob(os.path.join(rules_dir, "*.yml")))
                  for g in yaml.safe_load(open(path))["groups"]]
        key = lambda g: g["name"]
        check(sorted(rule[0]["spec"]["groups"], key=key) == sorted(groups, key=key),
              "PrometheusRule: its groups differ from rules/*.yml")
    maps = [o for o in objects if o["kind"] == "ConfigMap"
            and o["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    shipped = {os.path.basename(p): json.load(open(p))
               for p in glob.glob(os.path.join(dashboards_dir, "*.json"))}
    in_maps = {k: json.loads(v) for m in maps for k, v in m["data"].items()}
    check(in_maps == shipped, "dashboard ConfigMaps differ from grafana/dashboards/*.json: "
          f"{sorted(in_maps)} vs {sorted(shipped)}")


def main():
    directory, rules_dir, dashboards_dir, exporter = sys.argv[1:5]
    docs = load(directory)
    listed = yaml.safe_load(open(os.path.join(directory, "kustomization.yaml")))["resources"]
    manifests = sorted(n for n in docs if n != "kustomization.yaml")
    check(sorted(listed) == manifests, f"kustomization.yaml lists {sorted(listed)}, the directory has {manifests}")
    objects = [o for name in manifests for o in docs[name]]
    kinds = sorted({o["kind"] for o in objects})
    want = ["AlertmanagerConfig", "ConfigMap", "DaemonSet", "Deployment", "PrometheusRule",
            "Service", "ServiceMonitor"]
    check(kinds == want, f"kinds {kinds}, want {want}")
    flags = help_flags([exporter])
    for o in objects:
        if o["kind"] in ("DaemonSet", "Deployment"):
            mounts, _ = check_pod(o["kind"], o["metadata"]["name"], o["spec"]["template"], flags)
            (check_daemonset if o["kind"] == "DaemonSet" else check_deployment)(o, mounts)
    check_selection(objects)
    check_generated(objects, rules_dir, dashboards_dir)
    for failure in failures:
        print("FAIL", failure)
    if failures:
        return 1
    print(f"{len(objects)} objects in {len(manifests)} manifests: kinds, selectors, ports, probes, "
          "security contexts, flags, rules and dashboards check out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
