// The four Grafana dashboards, rendered to grafana/dashboards/<uid>.json.
{
  grafanaDashboards+:: {
    'afp-overview.json': (import 'afp-overview.libsonnet')($._config),
    'afp-system.json': (import 'afp-system.libsonnet')($._config),
    'afp-database.json': (import 'afp-database.libsonnet')($._config),
    'afp-exporter.json': (import 'afp-exporter.libsonnet')($._config),
  },
}
