// Recording rules (names: level:metric:operations, newest operation first). The alerts and
// the Grafana dashboards read these series, so a definition lives in one place.
// Definitions (the same as `afp_exporter status`):
//   CPU busy     = 1 - rate(idle + iowait + steal) / rate(all modes)     (node-mixin's)
//   memory used  = 1 - MemAvailable / MemTotal
//   disk used    = 1 - avail / size per filesystem, read-only filesystems left out
//   statement mean time = rate(seconds) / rate(calls) per statement
//   cache hit    = rate(blks_hit) / rate(blks_hit + blks_read) per database
//   dead rows    = n_dead_tup / (n_live_tup + n_dead_tup) per table
// Ratios divide only by a denominator above zero: no traffic gives no series, not NaN.
// A p95 over a window without observations is NaN, which no alert comparison matches.
//
// Every raw series is read through a selector of _config (afpSelector, hostSelector,
// pgSelector), so the series of other jobs (node_exporter, postgres_exporter of another
// team) are not recorded, and the alerts on the recorded series see only afp's.
// Aggregations keep the cluster label (_config.clusterLabel) next to instance and job; the
// fleet rules (level `cluster`) keep the cluster label alone.
local util = import 'lib/util.libsonnet';

{
  prometheusRules+:: {
    local c = $._config,
    local s = c {
      by: util.by(c, []),
      le: util.by(c, ['le']),
      fleet: util.fleetBy(c, []),
      fleetLe: util.fleetBy(c, ['le']),
    },
    groups+: [
      {
        name: 'afp-pipeline.recording',
        rules: [
          // Fingerprint generation (the app's FFT + peak finding + hashing of one upload).
          {
            record: 'instance:afp_fingerprint_generation_seconds:p95_rate5m',
            expr: |||
              histogram_quantile(0.95,
                sum by (%(le)s) (rate(afp_fingerprint_generation_seconds_bucket{%(afpSelector)s}[5m])))
            ||| % s,
          },
          {
            record: 'instance:afp_fingerprint_generation_seconds_count:rate5m',
            expr: 'sum by (%(by)s) (rate(afp_fingerprint_generation_seconds_count{%(afpSelector)s}[5m]))' % s,
          },
          // API total processing, all endpoints together and per endpoint (route template).
          {
            record: 'instance:afp_api_request_duration_seconds:p95_rate5m',
            expr: |||
              histogram_quantile(0.95,
                sum by (%(le)s) (rate(afp_api_request_duration_seconds_bucket{%(afpSelector)s}[5m])))
            ||| % s,
          },
          {
            record: 'instance_endpoint:afp_api_request_duration_seconds:p95_rate5m',
            expr: |||
              histogram_quantile(0.95,
                sum by (%(by)s, endpoint, le) (rate(afp_api_request_duration_seconds_bucket{%(afpSelector)s}[5m])))
            ||| % s,
          },
          {
            record: 'instance_endpoint:afp_api_request_duration_seconds_count:rate5m',
            expr: 'sum by (%(by)s, endpoint) (rate(afp_api_request_duration_seconds_count{%(afpSelector)s}[5m]))' % s,
          },
          // Database queries as the app times them, all together and per operation.
          {
            record: 'instance:afp_db_query_duration_seconds:p95_rate5m',
            expr: |||
              histogram_quantile(0.95,
                sum by (%(le)s) (rate(afp_db_query_duration_seconds_bucket{%(afpSelector)s}[5m])))
            ||| % s,
          },
          {
            record: 'instance_operation:afp_db_query_duration_seconds:p95_rate5m',
            expr: |||
              histogram_quantile(0.95,
                sum by (%(by)s, operation, le) (rate(afp_db_query_duration_seconds_bucket{%(afpSelector)s}[5m])))
            ||| % s,
          },
          {
            record: 'instance_operation:afp_db_query_duration_seconds_count:rate5m',
            expr: 'sum by (%(by)s, operation) (rate(afp_db_query_duration_seconds_count{%(afpSelector)s}[5m]))' % s,
          },
          // Identifications: all of them, and the share that ended in an error (a no-match
          // is an answer, not an error).
          {
            record: 'instance:afp_identifications:rate5m',
            expr: 'sum by (%(by)s) (rate(afp_identifications_total{%(afpSelector)s}[5m]))' % s,
          },
          {
            record: 'instance:afp_identification_errors_per_identifications:ratio_rate5m',
            expr: |||
              sum by (%(by)s) (rate(afp_identifications_total{%(afpSelector)s, result="error"}[5m]))
                / (instance:afp_identifications:rate5m > 0)
            ||| % s,
          },
          // Ingest: what the app pushes and what the exporter refuses.
          {
            record: 'instance:afp_ingest_observations:rate5m',
            expr: 'sum by (%(by)s) (rate(afp_ingest_observations_total{%(afpSelector)s}[5m]))' % s,
          },
          {
            record: 'instance_transport_reason:afp_ingest_rejected:rate5m',
            expr: 'sum by (%(by)s, transport, reason) (rate(afp_ingest_rejected_total{%(afpSelector)s}[5m]))' % s,
          },
          // The active probe's stages (Server-Timing), median of the last 10 minutes of
          // runs: one slow run is noise, half of them slow is not.
          {
            record: 'instance_stage:afp_probe_stage_duration_seconds:median10m',
            expr: 'quantile_over_time(0.5, afp_probe_stage_duration_seconds{%(afpSelector)s}[10m])' % s,
          },
        ],
      },
      // The fleet: every instance of the selector together, one series per cluster (or one
      // in all where the series carry no cluster label). Quantiles come from the buckets
      // summed over the instances, never from the instances' p95s (a mean of quantiles is
      // no quantile); ratios divide the fleet's sums. Alerts stay per instance: a page names
      // the instance to look at, and these series are for the fleet's dashboards.
      {
        name: 'afp-fleet.recording',
        rules: [
          {
            record: 'cluster:afp_fingerprint_generation_seconds:p95_rate5m',
            expr: |||
              histogram_quantile(0.95,
                sum by (%(fleetLe)s) (rate(afp_fingerprint_generation_seconds_bucket{%(afpSelector)s}[5m])))
            ||| % s,
          },
          {
            record: 'cluster:afp_fingerprint_generation_seconds_count:rate5m',
            expr: 'sum by (%(fleet)s) (rate(afp_fingerprint_generation_seconds_count{%(afpSelector)s}[5m]))' % s,
          },
          {
            record: 'cluster:afp_api_request_duration_seconds:p95_rate5m',
            expr: |||
              histogram_quantile(0.95,
                sum by (%(fleetLe)s) (rate(afp_api_request_duration_seconds_bucket{%(afpSelector)s}[5m])))
            ||| % s,
          },
          {
            record: 'cluster_endpoint:afp_api_request_duration_seconds:p95_rate5m',
            expr: |||
              histogram_quantile(0.95,
                sum by (%(fleet)s, endpoint, le) (rate(afp_api_request_duration_seconds_bucket{%(afpSelector)s}[5m])))
            ||| % s,
          },
          {
            record: 'cluster_endpoint:afp_api_request_duration_seconds_count:rate5m',
            expr: 'sum by (%(fleet)s, endpoint) (rate(afp_api_request_duration_seconds_count{%(afpSelector)s}[5m]))' % s,
          },
          {
            record: 'cluster:afp_db_query_duration_seconds:p95_rate5m',
            expr: |||
              histogram_quantile(0.95,
                sum by (%(fleetLe)s) (rate(afp_db_query_duration_seconds_bucket{%(afpSelector)s}[5m])))
            ||| % s,
          },
          {
            record: 'cluster_operation:afp_db_query_duration_seconds_count:rate5m',
            expr: 'sum by (%(fleet)s, operation) (rate(afp_db_query_duration_seconds_count{%(afpSelector)s}[5m]))' % s,
          },
          {
            record: 'cluster:afp_identifications:rate5m',
            expr: 'sum by (%(fleet)s) (rate(afp_identifications_total{%(afpSelector)s}[5m]))' % s,
          },
          {
            record: 'cluster:afp_identification_errors_per_identifications:ratio_rate5m',
            expr: |||
              sum by (%(fleet)s) (rate(afp_identifications_total{%(afpSelector)s, result="error"}[5m]))
                / (cluster:afp_identifications:rate5m > 0)
            ||| % s,
          },
          {
            record: 'cluster:afp_ingest_observations:rate5m',
            expr: 'sum by (%(fleet)s) (rate(afp_ingest_observations_total{%(afpSelector)s}[5m]))' % s,
          },
        ],
      },
      {
        name: 'afp-system.recording',
        rules: [
          {
            record: 'instance:node_cpu_busy:ratio_rate5m',
            expr: |||
              1 - sum by (%(by)s) (rate(node_cpu_seconds_total{%(hostSelector)s, mode=~"idle|iowait|steal"}[5m]))
                    / (sum by (%(by)s) (rate(node_cpu_seconds_total{%(hostSelector)s}[5m])) > 0)
            ||| % s,
          },
          {
            record: 'instance:node_memory_used:ratio',
            expr: |||
              1 - node_memory_MemAvailable_bytes{%(hostSelector)s}
                    / (node_memory_MemTotal_bytes{%(hostSelector)s} > 0)
            ||| % s,
          },
          {
            record: 'instance_mountpoint:node_filesystem_used:ratio',
            expr: |||
              (1 - node_filesystem_avail_bytes{%(hostSelector)s} / (node_filesystem_size_bytes{%(hostSelector)s} > 0))
                unless node_filesystem_readonly{%(hostSelector)s} == 1
            ||| % s,
          },
        ],
      },
      {
        name: 'afp-database.recording',
        rules: [
          {
            record: 'instance_queryid:pg_stat_statements_seconds:mean5m',
            expr: |||
              rate(pg_stat_statements_seconds_total{%(pgSelector)s}[5m])
                / (rate(pg_stat_statements_calls_total{%(pgSelector)s}[5m]) > 0)
            ||| % s,
          },
          // postgres_exporter's names (pg_stat_database_<column>, counters without
          // _total), which afp_exporter exports too.
          {
            record: 'instance_datname:pg_stat_database_blks:rate5m',
            expr: |||
              sum by (%(by)s, datname) (
                rate(pg_stat_database_blks_hit{%(pgSelector)s}[5m]) + rate(pg_stat_database_blks_read{%(pgSelector)s}[5m]))
            ||| % s,
          },
          {
            record: 'instance_datname:pg_stat_database_blks_hit:ratio_rate5m',
            expr: |||
              sum by (%(by)s, datname) (rate(pg_stat_database_blks_hit{%(pgSelector)s}[5m]))
                / (instance_datname:pg_stat_database_blks:rate5m > 0)
            ||| % s,
          },
          {
            record: 'instance_relname:pg_stat_user_tables_dead_tup:ratio',
            expr: |||
              pg_stat_user_tables_n_dead_tup{%(pgSelector)s}
                / ((pg_stat_user_tables_n_live_tup{%(pgSelector)s} + pg_stat_user_tables_n_dead_tup{%(pgSelector)s}) > 0)
            ||| % s,
          },
          {
            record: 'instance_relname:pg_stat_user_tables_seq_tup_read:rate5m',
            expr: 'rate(pg_stat_user_tables_seq_tup_read{%(pgSelector)s}[5m])' % s,
          },
        ],
      },
    ],
  },
}
