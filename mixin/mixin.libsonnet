// The afp monitoring mixin (monitoring-mixins convention): evaluates to
//   { _config, prometheusAlerts, prometheusRules, grafanaDashboards }
// Import it into your own jsonnet and override _config (config.libsonnet) for your site:
//   (import 'mixin/mixin.libsonnet') + { _config+:: { afpSelector: 'job="fp"' } }
// mixin/render writes the files this repository ships from it.
(import 'config.libsonnet')
+ (import 'rules.libsonnet')
+ (import 'alerts.libsonnet')
+ (import 'dashboards/dashboards.libsonnet')
