// Alerting rules for afp_exporter. Thresholds: _config.thresholds, equal to
// exporter/src/core/thresholds.h (tests/unit/rules_thresholds_test.cpp keeps them equal).
//
// Every alert has `for` (no alert on one scrape's noise), labels `severity`
// (critical | warning | info) and `component` (system | pipeline | database | exporter),
// and annotations `summary`, `description`, `value` (formatted), `runbook_url` and
// `dashboard_url` (both absolute, from _config's URL patterns). One alert name per
// condition; where the threshold table has a warning and a critical level there are two
// rules with the same name, and Alertmanager's inhibition lets the critical one mute the
// warning. The exception is AfpHeartbeat, which always fires (severity none) so that a
// dead man's switch notices when this Prometheus or its path to Alertmanager dies.
//
// One incident, one page: Alertmanager's inhibit rules (alertmanager/alertmanager.yml) let
// a cause mute its symptoms on the same instance (PostgreSQL down: the app's errors, the
// probe, the postgres collectors, the database alerts; the exporter down: everything of
// the instance; a slow statement: the app's query p95 and the probe's db stage...). A
// muted symptom must not be delivered once its cause resolves. An alert's tail after its
// condition is over is its window plus its keep_firing_for (the critical's; a warning's is
// shorter, see keep() below), and each cause's tail is at least 4 minutes longer than the
// longest of its symptoms' (a tie would be decided by which rule Prometheus evaluates
// first):
//   AfpPostgresDown            0 + 20m  > AfpDbQueriesSlow, AfpProbeFailing (15m)
//   AfpDbQueriesSlow          5m + 10m  > AfpPostgresStatementSlow, AfpApiRequestsSlow
//                                         (5m + 6m), AfpProbeStageSlow (10m + 0)
//   AfpFingerprintGenerationSlow 5m + 10m  > AfpApiRequestsSlow, AfpProbeStageSlow
//   AfpProbeFailing            0 + 15m  > AfpIdentificationErrors (5m + 6m), AfpProbeStageSlow
// The price: a cause's "resolved" arrives that much later.
//
// Raw series are read through _config's selectors (afpSelector, hostSelector,
// pgSelector); recorded series already are (rules.libsonnet).
local util = import 'lib/util.libsonnet';

// A warning and its critical twin: after the signal recovers, the critical condition ends
// first and the warning's up to one window (5 minutes) later. The critical keeps firing at
// least a window and a minute longer than the warning, so it resolves last and the warning,
// muted by it, is never delivered on the way down ("[FIRING] WARNING" after a recovery).
local keep(severity, critical, warning) = if severity == 'critical' then critical else warning;

{
  prometheusAlerts+:: {
    local c = $._config,
    local t = c.thresholds,
    local alert = util.alert,
    local pct = util.percent,
    local sec = util.seconds,
    local inWords(name) = util.durationWords(c.alertFor[name]),
    local on = util.by(c, []),
    // Both levels of an alert whose two rules differ only in the threshold.
    local levels(fn, thr) = [fn('warning', thr.warning), fn('critical', thr.critical)],
    // The mountpoints of the alert's filesystem (device) on its instance, sorted and
    // comma-separated: the filesystem alerts are one per device, bind mounts included.
    local mountpoints =
      '{{ range $i, $m := printf `instance_mountpoint:node_filesystem_used:ratio{job=%q, instance=%q, device=%q}` $labels.job $labels.instance $labels.device | query | sortByLabel "mountpoint" }}'
      + '{{ if $i }}, {{ end }}{{ $m.Labels.mountpoint }}{{ end }}',

    groups+: [
      {
        name: 'afp-system.alerts',
        rules:
          levels(function(severity, x) alert(
            c,
            'AfpHostCpuBusy',
            severity,
            'system',
            expr='instance:node_cpu_busy:ratio_rate5m >= %g' % x,
            summary='CPU busy {{ $value | humanizePercentage }} on {{ $labels.instance }}',
            description='CPU busy (all modes but idle, iowait and steal, 5-minute rate) on {{ $labels.instance }} has been {{ $value | humanizePercentage }} for %s, at or above the %s threshold of %s. Fingerprinting is CPU-bound: uploads and identifications slow down next.'
                        % [inWords('AfpHostCpuBusy'), severity, pct(x)],
            value='{{ $value | humanizePercentage }}',
            dashboard='afp-system',
            keepFiringFor=keep(severity, '7m', '1m'),
          ), t.cpuBusy)
          + levels(function(severity, x) alert(
            c,
            'AfpHostMemoryUsed',
            severity,
            'system',
            expr='instance:node_memory_used:ratio >= %g' % x,
            summary='Memory used {{ $value | humanizePercentage }} on {{ $labels.instance }}',
            description="Memory used (1 - MemAvailable / MemTotal) on {{ $labels.instance }} has been {{ $value | humanizePercentage }} for %s, at or above the %s threshold of %s. PostgreSQL's page cache shrinks first, then the OOM killer picks a process."
                        % [inWords('AfpHostMemoryUsed'), severity, pct(x)],
            value='{{ $value | humanizePercentage }}',
            dashboard='afp-system',
          ), t.memoryUsed)
          + levels(function(severity, x) alert(
            c,
            'AfpFilesystemUsed',
            severity,
            'system',
            // Bind mounts (/run/netns, a container's /etc/hosts...) show one filesystem
            // under several mountpoints with the same device: one alert per device
            // (mountpoint aggregated away, so the alert's identity is stable), which names
            // all its mountpoints (a query in the annotations, sorted).
            expr='max without (mountpoint) (instance_mountpoint:node_filesystem_used:ratio >= %g)' % x,
            summary='Filesystem ' + mountpoints + ' {{ $value | humanizePercentage }} used on {{ $labels.instance }}',
            description='Filesystem ' + mountpoints + ' ({{ $labels.device }}, {{ $labels.fstype }}) on {{ $labels.instance }} is {{ $value | humanizePercentage }} used (1 - avail / size), at or above the %s threshold of %s.'
                        % [severity, pct(x)],
            value='{{ $value | humanizePercentage }}',
            dashboard='afp-system',
          ), t.diskUsed)
          + [
            // node-mixin's condition, as a time: at the rate of the last 6 hours (least
            // squares) the free space is gone within 24 hours, on a filesystem already
            // more than 60 % used (a nearly empty disk's trend is noise). The value is the
            // time left.
            // The trend needs history, whatever `for` says: deriv() of a series that is
            // minutes old extrapolates a burst (a bulk load just after start) to days, so
            // the series must have had a sample an hour ago (`offset 1h`, within the
            // 5-minute lookback). Bind mounts of one device alert once, as above (the
            // soonest time to full of its mountpoints, which are equal).
            alert(
              c,
              'AfpFilesystemFillingUp',
              'warning',
              'system',
              expr=|||
                min without (mountpoint) (
                  node_filesystem_avail_bytes{%(sel)s} / (-deriv(node_filesystem_avail_bytes{%(sel)s}[6h]) > 0) < %(hours)g * 3600
                    and on (%(on)s, device, mountpoint, fstype)
                      instance_mountpoint:node_filesystem_used:ratio > %(used)g
                    and on (%(on)s, device, mountpoint, fstype)
                      node_filesystem_avail_bytes{%(sel)s} offset %(history)s
                )
              ||| % { sel: c.hostSelector, hours: t.filesystemFillingUpHours, on: on, used: t.filesystemFillingUpMinUsed, history: t.filesystemFillingUpMinHistory },
              summary='Filesystem ' + mountpoints + ' on {{ $labels.instance }} fills up within %g h' % t.filesystemFillingUpHours,
              description='At the rate of the last 6 hours, filesystem ' + mountpoints + ' ({{ $labels.device }}) on {{ $labels.instance }} is full in {{ $value | humanizeDuration }}.',
              value='{{ $value | humanizeDuration }}',
              dashboard='afp-system',
              keepFiringFor='30m',
            ),
          ],
      },
      {
        name: 'afp-pipeline.alerts',
        // A p95 of fewer than 20 observations in the 5-minute window is just the slowest
        // request, so the latency alerts need that much traffic (the probe covers quiet
        // hours).
        local minObs = t.latencyMinObservations,
        rules:
          levels(function(severity, x) alert(
            c,
            'AfpFingerprintGenerationSlow',
            severity,
            'pipeline',
            expr=|||
              instance:afp_fingerprint_generation_seconds:p95_rate5m >= %g
                and on (%s) instance:afp_fingerprint_generation_seconds_count:rate5m * 300 >= %g
            ||| % [x, on, minObs],
            summary='Fingerprint generation p95 {{ $value | humanizeDuration }} on {{ $labels.instance }}',
            description='The 95th percentile of fingerprint generation on {{ $labels.instance }} over the last 5 minutes is {{ $value | humanizeDuration }}, at or above the %s threshold of %s. Every upload and identification waits for it.'
                        % [severity, sec(x)],
            value='{{ $value | humanizeDuration }}',
            dashboard='afp-overview',
            keepFiringFor=keep(severity, '10m', '4m'),
          ), t.fingerprintGenerationP95)
          + levels(function(severity, x) alert(
            c,
            'AfpApiRequestsSlow',
            severity,
            'pipeline',
            expr=|||
              instance_endpoint:afp_api_request_duration_seconds:p95_rate5m >= %g
                and on (%s, endpoint)
                  instance_endpoint:afp_api_request_duration_seconds_count:rate5m * 300 >= %g
            ||| % [x, on, minObs],
            summary='API {{ $labels.endpoint }} p95 {{ $value | humanizeDuration }} on {{ $labels.instance }}',
            description='The 95th percentile of total processing time of {{ $labels.endpoint }} on {{ $labels.instance }} over the last 5 minutes is {{ $value | humanizeDuration }}, at or above the %s threshold of %s.'
                        % [severity, sec(x)],
            value='{{ $value | humanizeDuration }}',
            dashboard='afp-overview',
            keepFiringFor=keep(severity, '6m', null),
          ), t.apiProcessingP95)
          + levels(function(severity, x) alert(
            c,
            'AfpDbQueriesSlow',
            severity,
            'pipeline',
            expr=|||
              instance_operation:afp_db_query_duration_seconds:p95_rate5m >= %g
                and on (%s, operation)
                  instance_operation:afp_db_query_duration_seconds_count:rate5m * 300 >= %g
            ||| % [x, on, minObs],
            summary='Database {{ $labels.operation }} p95 {{ $value | humanizeDuration }} on {{ $labels.instance }}',
            description="The 95th percentile of the app's database {{ $labels.operation }} queries on {{ $labels.instance }} over the last 5 minutes is {{ $value | humanizeDuration }}, at or above the %s threshold of %s."
                        % [severity, sec(x)],
            value='{{ $value | humanizeDuration }}',
            dashboard='afp-database',
            keepFiringFor=keep(severity, '10m', '4m'),
          ), t.dbQueryP95)
          + levels(function(severity, x) alert(
            c,
            'AfpIdentificationErrors',
            severity,
            'pipeline',
            expr=|||
              instance:afp_identification_errors_per_identifications:ratio_rate5m >= %g
                and on (%s) instance:afp_identifications:rate5m * 300 >= %g
            ||| % [x, on, minObs],
            summary='{{ $value | humanizePercentage }} of identifications fail on {{ $labels.instance }}',
            description='{{ $value | humanizePercentage }} of the identifications on {{ $labels.instance }} in the last 5 minutes ended in an error (a no-match is not an error), at or above the %s threshold of %s.'
                        % [severity, pct(x)],
            value='{{ $value | humanizePercentage }}',
            dashboard='afp-overview',
            keepFiringFor=keep(severity, '6m', null),
          ), t.identificationErrorRatio)
          + [
            // Silence is only suspicious when the app is expected to be busy: the probe
            // got an answer from it in these 10 minutes (its own requests should have been
            // pushed), or the app pushed observations in the same 10 minutes one day and
            // one week earlier (a regular busy hour). See the runbook's section.
            alert(
              c,
              'AfpNoObservations',
              'warning',
              'pipeline',
              expr=|||
                sum by (%(on)s) (increase(afp_ingest_observations_total{%(sel)s}[10m])) == 0
                  and on (%(on)s) (
                      max by (%(on)s) (max_over_time(afp_probe_success{%(sel)s}[10m])) == 1
                    or (
                        sum by (%(on)s) (increase(afp_ingest_observations_total{%(sel)s}[10m] offset 1d)) > 0
                      and on (%(on)s)
                        sum by (%(on)s) (increase(afp_ingest_observations_total{%(sel)s}[10m] offset 7d)) > 0
                    )
                  )
              ||| % { on: on, sel: c.afpSelector },
              summary='No pipeline observations ingested for 10 minutes on {{ $labels.instance }}',
              description='The exporter on {{ $labels.instance }} received {{ $value }} observations (HTTP or statsd) in the last 10 minutes although the app is expected to be busy: the probe reached it, or it pushed at this time yesterday and a week ago. The pipeline histograms and their alerts are blind until the app pushes again.',
              value='{{ $value }} observations',
              dashboard='afp-overview',
            ),
            alert(
              c,
              'AfpProbeFailing',
              'critical',
              'pipeline',
              expr='afp_probe_success{%s} == 0' % c.afpSelector,
              summary='The identify probe has been failing for %s on {{ $labels.instance }}' % inWords('AfpProbeFailing'),
              description='Every run of the active probe from {{ $labels.instance }} in the last %s failed (afp_probe_success {{ $value }}: a timeout, a connection error, a non-2xx answer or a malformed Server-Timing header): users uploading audio most likely fail too.'
                          % inWords('AfpProbeFailing'),
              value='{{ $value }}',
              dashboard='afp-overview',
              keepFiringFor='15m',
            ),
          ]
          // The probe's stages that the threshold table covers: `fingerprint` against the
          // fingerprint generation p95, `db` against the database query p95.
          + [
            alert(
              c,
              'AfpProbeStageSlow',
              severity,
              'pipeline',
              expr=|||
                instance_stage:afp_probe_stage_duration_seconds:median10m{stage="fingerprint"} >= %g
                  or instance_stage:afp_probe_stage_duration_seconds:median10m{stage="db"} >= %g
              ||| % [t.fingerprintGenerationP95[severity], t.dbQueryP95[severity]],
              summary='Probe stage {{ $labels.stage }} takes {{ $value | humanizeDuration }} on {{ $labels.instance }}',
              description="The median {{ $labels.stage }} stage of the probe's identify requests from {{ $labels.instance }} over the last 10 minutes is {{ $value | humanizeDuration }} (app's Server-Timing), at or above the %s threshold of {{ if eq $labels.stage \"db\" }}%s{{ else }}%s{{ end }}."
                          % [severity, sec(t.dbQueryP95[severity]), sec(t.fingerprintGenerationP95[severity])],
              value='{{ $value | humanizeDuration }}',
              dashboard='afp-overview',
            )
            for severity in ['warning', 'critical']
          ],
      },
      {
        name: 'afp-database.alerts',
        local pg = c.pgSelector,
        local describeStatement(severity, x) =
          'Statement queryid {{ $labels.queryid }} (user {{ $labels.user }}, database {{ $labels.datname }}, {{ $labels.instance }}) has taken {{ $value | humanizeDuration }} per call on average (pg_stat_statements, 5-minute rate) for %s, at or above the %s threshold of %s.'
          % [inWords('AfpPostgresStatementSlow'), severity, sec(x)],
        rules: [
                 alert(
                   c,
                   'AfpPostgresDown',
                   'critical',
                   'database',
                   // The last pg_up of the past minute, not the current one: a scrape that
                   // stops waiting before a hung server's collection ends exports no pg_up,
                   // and that collection's pg_up 0 serves the next scrape. Gaps and zeros
                   // alternating kept `pg_up < 1` from lasting its `for`, so a PostgreSQL that
                   // accepts connections and never answers paged nothing.
                   expr='last_over_time(pg_up{%s}[1m]) < 1' % pg,
                   summary='PostgreSQL unreachable from {{ $labels.instance }}',
                   description='The exporter on {{ $labels.instance }} has not been able to connect to PostgreSQL and run a query for %s (pg_up {{ $value }}). Look-ups and inserts of the app fail too unless it uses another server.'
                               % inWords('AfpPostgresDown'),
                   value='{{ $value }}',
                   dashboard='afp-database',
                   keepFiringFor='20m',
                 ),
                 // AfpPostgresDown judges pg_up and is blind when there is none: an exporter
                 // whose `postgres` collector is on (afp_exporter registers it only with a DSN)
                 // but that exported no pg_up on its last scrape. The collector fails without
                 // writing pg_up when the scrape's deadline runs out before PostgreSQL answers.
                 // pg_up is read from the same target (afpSelector), whatever pgSelector says.
                 alert(
                   c,
                   'AfpPostgresMetricsAbsent',
                   'warning',
                   'exporter',
                   expr=|||
                     afp_exporter_scrape_collector_success{%(sel)s, collector="postgres"}
                       unless on (%(on)s) pg_up{%(sel)s}
                   ||| % { sel: c.afpSelector, on: on },
                   summary='afp_exporter on {{ $labels.instance }} exports no pg_up',
                   description='afp_exporter on {{ $labels.instance }} has its postgres collector on (collector success {{ $value }}) but has exported no pg_up for %s: AfpPostgresDown cannot fire for this PostgreSQL and its database metrics are missing.'
                               % inWords('AfpPostgresMetricsAbsent'),
                   value='{{ $value }}',
                   dashboard='afp-exporter',
                 ),
               ]
               + levels(function(severity, x) alert(
                 c,
                 'AfpPostgresStatementSlow',
                 severity,
                 'database',
                 expr='instance_queryid:pg_stat_statements_seconds:mean5m >= %g' % x,
                 summary='Statement {{ $labels.queryid }} averages {{ $value | humanizeDuration }} in {{ $labels.datname }}',
                 description=describeStatement(severity, x),
                 value='{{ $value | humanizeDuration }}',
                 dashboard='afp-database',
                 keepFiringFor=keep(severity, '6m', null),
               ), t.pgStatementMeanTime)
               + [
                 // The missing-index signal: rows read by sequential scans of the fingerprint
                 // table keep growing. A one-off scan (pg_dump, a manual query) lands in one
                 // 5-minute window and cannot last 15 minutes; a small table is scanned by design,
                 // hence 10,000 live rows (the `db report` advisor's limit).
                 alert(
                   c,
                   'AfpFingerprintSeqScans',
                   'warning',
                   'database',
                   expr=|||
                     instance_relname:pg_stat_user_tables_seq_tup_read:rate5m{relname="%(table)s"} > 0
                       and pg_stat_user_tables_n_live_tup{%(pg)s} >= %(rows)g
                   ||| % { table: c.fingerprintTable, pg: pg, rows: t.seqScanMinLiveRows },
                   summary='Sequential scans read {{ $value | humanize }} rows/s of {{ $labels.schemaname }}.{{ $labels.relname }} in {{ $labels.datname }}',
                   description='Sequential scans of the fingerprint table {{ $labels.schemaname }}.{{ $labels.relname }} (database {{ $labels.datname }}, {{ $labels.instance }}) have read {{ $value | humanize }} rows per second for %s: look-ups are not using the hash index (missing, invalid, or not chosen by the planner).'
                               % inWords('AfpFingerprintSeqScans'),
                   value='{{ $value | humanize }} rows/s',
                   dashboard='afp-database',
                 ),
               ]
               + levels(function(severity, x) alert(
                 c,
                 'AfpPostgresDeadRows',
                 severity,
                 'database',
                 expr=|||
                   instance_relname:pg_stat_user_tables_dead_tup:ratio >= %g
                     and pg_stat_user_tables_n_dead_tup{%s} >= %g
                 ||| % [x, pg, t.deadRowsMin],
                 summary='{{ $value | humanizePercentage }} dead rows in {{ $labels.schemaname }}.{{ $labels.relname }} ({{ $labels.datname }})',
                 description='{{ $value | humanizePercentage }} of the rows of {{ $labels.schemaname }}.{{ $labels.relname }} (database {{ $labels.datname }}, {{ $labels.instance }}) have been dead for %s, at or above the %s threshold of %s: %s.'
                             % [
                               inWords('AfpPostgresDeadRows'),
                               severity,
                               pct(x),
                               if severity == 'warning' then 'autovacuum is falling behind' else 'vacuum is not keeping up',
                             ],
                 value='{{ $value | humanizePercentage }}',
                 dashboard='afp-database',
               ), t.pgDeadRowRatio)
               + [
                 // The `db report` advisor's rule (core/thresholds.h, kStale*): more than 10 %
                 // of the rows (and at least 1,000) changed since the last ANALYZE; or rows
                 // changed and the last ANALYZE is older than 7 days; or never analyzed with at
                 // least 1,000 rows.
                 alert(
                   c,
                   'AfpPostgresStatisticsStale',
                   'warning',
                   'database',
                   expr=|||
                     (
                         pg_stat_user_tables_n_mod_since_analyze{%(pg)s} >= %(rows)d
                       and
                         pg_stat_user_tables_n_mod_since_analyze{%(pg)s} > %(ratio)g * pg_stat_user_tables_n_live_tup{%(pg)s}
                     )
                     or
                     (
                         pg_stat_user_tables_n_mod_since_analyze{%(pg)s} > 0
                       and
                         time() - (
                             pg_stat_user_tables_last_analyze{%(pg)s} > pg_stat_user_tables_last_autoanalyze{%(pg)s}
                           or
                             pg_stat_user_tables_last_autoanalyze{%(pg)s}
                         ) > %(days)d * 86400
                       and
                         (pg_stat_user_tables_last_analyze{%(pg)s} != 0 or pg_stat_user_tables_last_autoanalyze{%(pg)s} != 0)
                     )
                     or
                     (
                         pg_stat_user_tables_n_mod_since_analyze{%(pg)s}
                       and pg_stat_user_tables_n_live_tup{%(pg)s} >= %(rows)d
                       and pg_stat_user_tables_last_analyze{%(pg)s} == 0
                       and pg_stat_user_tables_last_autoanalyze{%(pg)s} == 0
                     )
                   ||| % { pg: pg, rows: t.staleMinRows, ratio: t.staleModifiedRatio, days: t.staleAnalyzeAgeDays },
                   summary='Statistics of {{ $labels.schemaname }}.{{ $labels.relname }} ({{ $labels.datname }}) are stale',
                   description='{{ $value | humanize }} rows of {{ $labels.schemaname }}.{{ $labels.relname }} (database {{ $labels.datname }}, {{ $labels.instance }}) changed since its last ANALYZE, which is more than 10 % of the table, older than 7 days, or never happened. The planner works from old row counts and may stop using the hash index.',
                   value='{{ $value | humanize }} rows changed',
                   dashboard='afp-database',
                 ),
               ]
               // Judged only where it means something:
               //  - on enough block accesses (blks_hit + blks_read): at least
               //    cacheHitMinBlocksPerSecond, over the 5-minute rate and so through the whole
               //    `for`. An idle database (the `postgres` maintenance database, one the app
               //    does not use) reads a few hundred catalog blocks for the exporter's own
               //    queries, and one miss in ten of those keeps no look-up waiting;
               //  - not in the first 15 minutes (cacheHitSettle) after the postmaster started:
               //    shared buffers start empty, every first read misses. Judged once
               //    pg_postmaster_start_time_seconds equals what it was 15 minutes ago, i.e. no
               //    restart since and seen that long. The start time sees what pg_up cannot:
               //    a restart between two scrapes, pg_up 1 in both (and PostgreSQL 15 keeps its
               //    counters over a clean restart). An offset rather than `time() - start >
               //    900`: a duration, which a copy of the rules with shortened timings (the
               //    demo's) shortens too. Only where the start time is missing (an older
               //    afp_exporter, a postgres_exporter without its `postmaster` collector,
               //    PostgreSQL down: no sample then) does the old guard decide: pg_up 1
               //    throughout the last 15 minutes and already 15 minutes ago. A missing
               //    series must not silence the alert for good;
               //  - not in unjudgedDatabases (template0/template1), which only CREATE DATABASE
               //    and autovacuum read.
               // `postgres` and every other database stay judged by name: an app may keep its
               // tables there, and the volume guard already silences it when it is idle.
               + levels(function(severity, x) alert(
                 c,
                 'AfpPostgresCacheHitLow',
                 severity,
                 'database',
                 expr=|||
                   instance_datname:pg_stat_database_blks_hit:ratio_rate5m{datname!~"%(unjudged)s"} < %(x)g
                     and on (%(on)s, datname) instance_datname:pg_stat_database_blks:rate5m >= %(blocks)g
                     and on (%(on)s) (
                         pg_postmaster_start_time_seconds{%(pg)s} == pg_postmaster_start_time_seconds{%(pg)s} offset %(settle)s
                       or
                         (
                             (min_over_time(pg_up{%(pg)s}[%(settle)s]) == 1 and pg_up{%(pg)s} offset %(settle)s == 1)
                           unless on (%(on)s)
                             pg_postmaster_start_time_seconds{%(pg)s}
                         )
                     )
                 ||| % { x: x, on: on, blocks: t.cacheHitMinBlocksPerSecond, pg: pg, settle: t.cacheHitSettle,
                         unjudged: std.join('|', t.unjudgedDatabases) },
                 summary='Cache hit ratio {{ $value | humanizePercentage }} in {{ $labels.datname }} on {{ $labels.instance }}',
                 description='Only {{ $value | humanizePercentage }} of the block reads of database {{ $labels.datname }} ({{ $labels.instance }}) were served from shared buffers (5-minute rate) for %s, below the %s threshold of %s: look-ups wait on disk.'
                             % [inWords('AfpPostgresCacheHitLow'), severity, pct(x)],
                 value='{{ $value | humanizePercentage }}',
                 dashboard='afp-database',
                 keepFiringFor=keep(severity, '6m', null),
               ), t.pgCacheHitRatio)
               + [
                 // Advice only. Primary keys (*_pkey) and unique constraints (*_key) enforce
                 // something even unscanned and are left out; `db report` also knows other
                 // unique indexes.
                 alert(
                   c,
                   'AfpPostgresIndexUnused',
                   'info',
                   'database',
                   expr='pg_stat_user_indexes_idx_scan_total{%s, indexrelname!~".+_(pkey|key)"} == 0' % pg,
                   summary='Index {{ $labels.indexrelname }} on {{ $labels.schemaname }}.{{ $labels.relname }} is never used',
                   description='Index {{ $labels.indexrelname }} on {{ $labels.schemaname }}.{{ $labels.relname }} (database {{ $labels.datname }}, {{ $labels.instance }}) has had {{ $value }} scans since the statistics were reset, for at least %s. It costs disk and slows every insert; check with `afp_exporter db report` before dropping it.'
                               % inWords('AfpPostgresIndexUnused'),
                   value='{{ $value }} scans',
                   dashboard='afp-database',
                 ),
               ],
      },
      {
        name: 'afp-exporter.alerts',
        rules: [
          alert(
            c,
            'AfpExporterDown',
            'critical',
            'exporter',
            expr='up{%s} == 0' % c.afpSelector,
            summary='afp_exporter on {{ $labels.instance }} is down',
            description='Prometheus has failed to scrape afp_exporter on {{ $labels.instance }} (job {{ $labels.job }}, up {{ $value }}) for %s: no system, pipeline or database alert of that host can fire while it is down.'
                        % inWords('AfpExporterDown'),
            value='{{ $value }}',
            dashboard='afp-exporter',
            keepFiringFor='10m',
          ),
          // AfpExporterDown needs an `up` series: a target gone from service discovery (a
          // file_sd file emptied, a relabelling that drops it, a renamed job) has none, and
          // neither has a Prometheus that lost its scrape configuration. absent() returns
          // one series (labelled with the selector's equality matchers) when no target of
          // the selection exists at all.
          alert(
            c,
            'AfpExporterAbsent',
            'critical',
            'exporter',
            expr='absent(up{%s})' % c.afpSelector,
            summary='No afp_exporter target in Prometheus',
            description='Prometheus has had no afp_exporter target (up{%s}) for %s, value {{ $value }}: every target vanished from service discovery or the scrape configuration, so no afp alert can fire.'
                        % [c.afpSelector, inWords('AfpExporterAbsent')],
            value='{{ $value }}',
            dashboard='afp-exporter',
            keepFiringFor='10m',
            dashboardQuery='',
          ),
          alert(
            c,
            'AfpExporterCollectorFailing',
            'warning',
            'exporter',
            expr='afp_exporter_scrape_collector_success{%s} == 0' % c.afpSelector,
            summary='Collector {{ $labels.collector }} failing on {{ $labels.instance }}',
            description="The {{ $labels.collector }} collector of afp_exporter on {{ $labels.instance }} has failed on every scrape for %s (success {{ $value }}); its metrics are missing (the rest of the scrape still works). The exporter's log says why."
                        % inWords('AfpExporterCollectorFailing'),
            value='{{ $value }}',
            dashboard='afp-exporter',
            keepFiringFor='10m',
          ),
          alert(
            c,
            'AfpIngestRejecting',
            'warning',
            'exporter',
            expr='instance_transport_reason:afp_ingest_rejected:rate5m > 0',
            summary='Ingest refuses {{ $labels.transport }} observations ({{ $labels.reason }}) on {{ $labels.instance }}',
            description='afp_exporter on {{ $labels.instance }} has been refusing {{ $labels.transport }} observations for '
                        + inWords('AfpIngestRejecting')
                        + ', reason {{ $labels.reason }}, at {{ printf "%.3g" $value }}/s: those timings are lost and the pipeline alerts see less than the app does.',
            value='{{ printf "%.3g" $value }}/s',
            dashboard='afp-exporter',
          ),
          // Always firing, on purpose: Alertmanager routes it to a dead man's switch
          // (an external service that pages when the heartbeat stops arriving), which
          // notices what no rule here can: this Prometheus down, its rules not loaded, or
          // Alertmanager unreachable. No `for`, no threshold; severity none.
          {
            alert: 'AfpHeartbeat',
            expr: 'vector(1)',
            labels: { severity: 'none', component: 'exporter' },
            annotations: {
              summary: 'Heartbeat of the afp alerting pipeline (always firing)',
              description: "This alert always fires so that a dead man's switch receives it; if the switch stops hearing it, Prometheus, its afp rules or the path to Alertmanager are broken.",
              runbook_url: c.runbookURLPattern % 'afpheartbeat',
              dashboard_url: c.dashboardURLPattern % 'afp-exporter',
            },
          },
        ],
      },
    ],
  },
}
