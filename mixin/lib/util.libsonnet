// Small helpers of the mixin (no grafonnet: the few pieces the afp rules and dashboards
// need are written out here).
{
  // 0.7 -> "70%", as the alert descriptions quote a ratio threshold (rounded so that
  // 0.7 * 100 does not print as 70.00000000000001).
  percent(ratio):: '%g%%' % (ratio * 100),

  // 3 -> "3s", as the descriptions quote a time threshold.
  seconds(s):: '%gs' % s,

  // A `for` duration in words for the descriptions: '10m' -> '10 minutes', '24h' -> '1 day'.
  durationWords(d)::
    local unit = d[std.length(d) - 1];
    local n = std.parseInt(d[0:std.length(d) - 1]);
    local words(count, singular) = std.toString(count) + ' ' + singular + (if count == 1 then '' else 's');
    if unit == 's' then words(n, 'second')
    else if unit == 'm' then words(n, 'minute')
    else if unit == 'h' && n % 24 == 0 then words(n / 24, 'day')
    else if unit == 'h' then words(n, 'hour')
    else if unit == 'd' then words(n, 'day')
    else error 'duration %s: use a number with s, m, h or d' % d,

  // Labels the recording rules aggregate by: the cluster label first, then `extra`.
  by(config, extra):: std.join(', ', [config.clusterLabel, 'instance', 'job'] + extra),

  // Labels the fleet rules aggregate by: the cluster label alone, then `extra`. A
  // Prometheus whose series carry no cluster label gets one series over all its instances.
  fleetBy(config, extra):: std.join(', ', [config.clusterLabel] + extra),

  // One alerting rule in the conventions of rules/tests/check_rules.py: a `for`, labels
  // severity and component, annotations summary, description, value and two absolute
  // links, the runbook section (the alert name in lower case) and a dashboard.
  alert(config,
        name,
        severity,
        component,
        expr,
        summary,
        description,
        value,
        dashboard,
        dashboardQuery='?var-instance={{ $labels.instance }}',
        keepFiringFor=null):: {
    alert: name,
    expr: expr,
    'for': config.alertFor[name],
    [if keepFiringFor != null then 'keep_firing_for']: keepFiringFor,
    labels: { severity: severity, component: component },
    annotations: {
      summary: summary,
      description: description,
      value: value,
      runbook_url: config.runbookURLPattern % std.asciiLower(name),
      dashboard_url: (config.dashboardURLPattern % dashboard) + dashboardQuery,
    },
  },
}
