// The site-specific settings of the afp mixin. Override any of them from your own jsonnet:
//
//   (import 'afp_exporter/mixin/mixin.libsonnet') + { _config+:: { afpSelector: 'job="fp"' } }
//
// or when rendering: mixin/render --set afpSelector='job="fp"' --output-dir out/
{
  _config+:: {
    // Label matchers (without braces) that pick the series each part of the rules reads.
    // Prometheus often scrapes node_exporter (job="node") and postgres_exporter
    // (job="postgres") for other teams too: without a selector a sick host under
    // job="node" would fire the afp host alerts a second time, with another team's
    // labels. The default is the job deploy/prometheus.yml gives afp_exporter, which
    // exports the host and the PostgreSQL series itself. To judge node_exporter's or
    // postgres_exporter's series as well, widen them, e.g. hostSelector: 'job=~"afp|node"'.
    afpSelector: 'job="afp"',  // afp_exporter's own series: up, pipeline, probe, self-metrics
    hostSelector: 'job="afp"',  // node_* series (CPU, memory, filesystems)
    pgSelector: 'job="afp"',  // pg_* series (pg_up, pg_stat_*)

    // Dejavu's fingerprint table (relname), watched for sequential scans.
    fingerprintTable: 'fingerprints',

    // The label that tells sites apart where several Prometheus servers feed one store
    // (deploy/prometheus.yml's external label). Recording rules keep it, and dashboards
    // offer it as a variable; a single Prometheus without it loses nothing.
    clusterLabel: 'cluster',

    // Thresholds: equal to exporter/src/core/thresholds.h, which `afp_exporter status`
    // and `db report` judge by (tests/unit/rules_thresholds_test.cpp keeps the rendered rules
    // equal to the header). Ratios are 0..1, times in seconds. Higher is worse, except
    // the cache hit ratio, where critical is below warning.
    thresholds: {
      cpuBusy: { warning: 0.70, critical: 0.90 },
      memoryUsed: { warning: 0.80, critical: 0.95 },
      diskUsed: { warning: 0.85, critical: 0.95 },
      fingerprintGenerationP95: { warning: 3, critical: 5 },
      apiProcessingP95: { warning: 5, critical: 10 },
      dbQueryP95: { warning: 1, critical: 3 },
      identificationErrorRatio: { warning: 0.01, critical: 0.05 },
      // The same limits as the query p95 requirement (thresholds.h says so too).
      pgStatementMeanTime: { warning: 1, critical: 3 },
      pgCacheHitRatio: { warning: 0.99, critical: 0.90 },
      pgDeadRowRatio: { warning: 0.10, critical: 0.30 },
      // The guards `status` and `db report` share with the rules (thresholds.h's
      // kUnjudgedDatabases, kSeqScanMinLiveRows, kDeadRowMinRows, kStale*,
      // kCacheHitMinBlocksPerSecond; rules_thresholds_test.cpp holds them equal).
      unjudgedDatabases: ['template0', 'template1'],  // PostgreSQL's own, never judged
      seqScanMinLiveRows: 10000,  // `db report`'s limit: a small table is scanned by design
      deadRowsMin: 1000,
      staleMinRows: 1000,  // statistics stale: this many rows changed, and more than
      staleModifiedRatio: 0.10,  // ... this share of the table, since the last ANALYZE,
      staleAnalyzeAgeDays: 7,  // or rows changed and it is older than this
      // Not in thresholds.h: limits of the heuristic alerts.
      filesystemFillingUpHours: 24,  // time to full that AfpFilesystemFillingUp warns at
      filesystemFillingUpMinUsed: 0.60,  // a nearly empty disk's trend is noise
      filesystemFillingUpMinHistory: '1h',  // the samples the trend needs behind it
      latencyMinObservations: 20,  // a p95 of fewer observations in 5 minutes is noise
      // Block accesses (hit + read) per second, 5-minute rate, before the cache hit
      // ratio means much: 50/s is 15,000 in 5 minutes, ~120 MB of 8 kB pages, more than
      // the exporter's own catalog queries make of an idle database.
      cacheHitMinBlocksPerSecond: 50,
      cacheHitSettle: '15m',  // PostgreSQL up this long before its cache is judged
    },

    // `for` of each alert: how long a condition must hold before it fires (no alert on
    // one scrape's noise). The live e2e test renders the rules with seconds here. A cause
    // fires before the symptoms it mutes in Alertmanager (alertmanager.yml): the app's
    // slow queries (5m) before the server's slow statement (10m: one 30 s call fills a
    // 5-minute mean), slow queries and slow fingerprinting (5m) before the slow API (6m),
    // the probe failing (5m) before identification errors (6m). A symptom that fired first
    // would page before its cause could mute it.
    alertFor: {
      AfpHostCpuBusy: '10m',
      AfpHostMemoryUsed: '5m',
      AfpFilesystemUsed: '5m',
      AfpFilesystemFillingUp: '1h',
      AfpFingerprintGenerationSlow: '5m',
      AfpApiRequestsSlow: '6m',
      AfpDbQueriesSlow: '5m',
      AfpIdentificationErrors: '6m',
      AfpNoObservations: '1m',
      AfpProbeFailing: '5m',
      AfpProbeStageSlow: '5m',
      AfpPostgresDown: '1m',
      AfpPostgresMetricsAbsent: '5m',
      AfpPostgresStatementSlow: '10m',
      AfpFingerprintSeqScans: '15m',
      AfpPostgresDeadRows: '30m',
      AfpPostgresStatisticsStale: '1h',
      AfpPostgresCacheHitLow: '15m',
      AfpPostgresIndexUnused: '24h',
      AfpExporterDown: '2m',
      AfpExporterAbsent: '5m',
      AfpExporterCollectorFailing: '5m',
      AfpIngestRejecting: '10m',
    },

    // Links in every alert's annotations, absolute so that any notification (Alertmanager
    // templates, PagerDuty, a phone) can open them. `%s` is the alert name in lower case
    // (the runbook's section anchor) and the dashboard uid. The defaults are examples:
    // point them at your copy of docs/runbook.md and your Grafana.
    runbookURLPattern: 'https://git.example.internal/ops/afp_exporter/-/blob/main/docs/runbook.md#%s',
    dashboardURLPattern: 'https://grafana.example.internal/d/%s',

    // Grafana: the data source the dashboards' "Data source" variable starts at (a name
    // of a Prometheus data source), the dashboards' tags and refresh.
    grafanaDatasource: 'Prometheus',
    dashboardTags: ['afp'],
    dashboardRefresh: '30s',
    // grafana/provisioning/dashboards/afp.yml has allowUiUpdates: false, so an edit made
    // in Grafana could not be saved back: the dashboards say so by not being editable.
    dashboardEditable: false,
  },
}
