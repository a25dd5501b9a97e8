// What every afp dashboard shares, written out instead of grafonnet: the variables
// (data source, cluster, job, instance), the links between the four dashboards, the
// annotation of firing afp alerts, and the settings Grafana 10 provisions them with.
local dashboards = [
  { uid: 'afp-overview', title: 'Overview' },
  { uid: 'afp-system', title: 'System' },
  { uid: 'afp-database', title: 'Fingerprint database' },
  { uid: 'afp-exporter', title: 'Exporter' },
];

// The series each dashboard lists its jobs and instances from, and the _config selector
// that picks them: the host and PostgreSQL dashboards follow hostSelector and pgSelector,
// so widening those to node_exporter's or postgres_exporter's jobs offers those too.
local inventory = {
  'afp-overview': { selector: 'afpSelector', metric: 'afp_exporter_build_info' },
  'afp-exporter': { selector: 'afpSelector', metric: 'afp_exporter_build_info' },
  'afp-system': { selector: 'hostSelector', metric: 'node_cpu_seconds_total' },
  'afp-database': { selector: 'pgSelector', metric: 'pg_up' },
};

{
  // A threshold as the panel descriptions write it: "70 %", "3 s".
  pct(ratio):: '%g %%' % (ratio * 100),
  sec(seconds):: '%g s' % seconds,

  // Threshold steps of a requirement in _config.thresholds: green, orange from the
  // warning, red from the critical level (Grafana colours a value at a step's value with
  // that step, as `>=` in the alerts).
  higherIsWorseSteps(t):: [
    { color: 'green', value: null },
    { color: 'orange', value: t.warning },
    { color: 'red', value: t.critical },
  ],
  // Lower is worse (the cache hit ratio): red below the critical level, orange below the
  // warning one.
  lowerIsWorseSteps(t):: [
    { color: 'red', value: null },
    { color: 'orange', value: t.critical },
    { color: 'green', value: t.warning },
  ],
  // A success ratio shown for an error-ratio requirement: 1 - the levels, lower is worse.
  successSteps(t):: $.lowerIsWorseSteps({ warning: 1 - t.warning, critical: 1 - t.critical }),

  // The panels' and targets' data source: the dashboard's "Data source" variable.
  datasource:: { type: 'prometheus', uid: '${datasource}' },

  // A multi-value query variable listing one label's values, refreshed on time-range
  // change; "All" is `allValue`.
  local queryVariable(name, label, query, allValue) = {
    name: name,
    label: label,
    type: 'query',
    datasource: $.datasource,
    query: query,
    definition: query,
    current: { selected: true, text: ['All'], value: ['$__all'] },
    hide: 0,
    includeAll: true,
    allValue: allValue,
    multi: true,
    options: [],
    refresh: 2,
    regex: '',
    skipUrlSync: false,
    sort: 1,
  },

  variables(config, uid):: (
    local inv = inventory[uid];
    local sel = config[inv.selector];
    local cluster = config.clusterLabel;
    [
      {
        name: 'datasource',
        label: 'Data source',
        type: 'datasource',
        query: 'prometheus',
        current: { selected: true, text: config.grafanaDatasource, value: config.grafanaDatasource },
        hide: 0,
        includeAll: false,
        multi: false,
        options: [],
        refresh: 1,
        regex: '',
        skipUrlSync: false,
      },
      // A single Prometheus has no cluster label on its series (it is an external
      // label): "All" is then `.*`, which also matches a missing label.
      queryVariable('cluster',
                    'Cluster',
                    'label_values(%s{%s}, %s)' % [inv.metric, sel, cluster],
                    '.*'),
      queryVariable('job',
                    'Job',
                    'label_values(%s{%s, %s=~"$cluster"}, job)' % [inv.metric, sel, cluster],
                    '.+'),
      queryVariable('instance',
                    'Instance',
                    'label_values(%s{%s, %s=~"$cluster", job=~"$job"}, instance)' % [inv.metric, sel, cluster],
                    '.+'),
    ]
  ),

  // Every query of the panels selects job=~"$job" (the dashboards' lint wants it); the
  // cluster variable is added next to it here, so the panels need not repeat it.
  local withCluster(config, panel) = panel {
    [if std.objectHas(panel, 'targets') then 'targets']: [
      t { expr: std.strReplace(t.expr, 'job=~"$job"', '%s=~"$cluster", job=~"$job"' % config.clusterLabel) }
      for t in panel.targets
    ],
    [if std.objectHas(panel, 'panels') then 'panels']: [withCluster(config, p) for p in panel.panels],
  },

  // The fingerprint table variable starts at _config.fingerprintTable.
  local siteVariable(config, v) =
    if v.name == 'table' then v {
      query: config.fingerprintTable,
      description: "Name of Dejavu's fingerprint table (relname), as `db report --fingerprint-table` and the alerts (the mixin's fingerprintTable) assume: %s." % config.fingerprintTable,
      current: { selected: false, text: config.fingerprintTable, value: config.fingerprintTable },
      options: [{ selected: true, text: config.fingerprintTable, value: config.fingerprintTable }],
    } else v,

  // d: uid, title, description, tags, time, panels and optionally more variables.
  dashboard(config, d):: {
    id: null,
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: std.uniq(std.sort(config.dashboardTags + d.tags)),
    timezone: 'browser',
    editable: config.dashboardEditable,
    fiscalYearStartMonth: 0,
    graphTooltip: 1,
    liveNow: false,
    refresh: config.dashboardRefresh,
    schemaVersion: 39,
    version: 1,
    weekStart: '',
    time: d.time,
    timepicker: {},
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
        // When an afp alert of the selected targets fired. The heartbeat always fires
        // and would mark the whole range.
        {
          name: 'Firing afp alerts',
          datasource: $.datasource,
          enable: true,
          hide: false,
          iconColor: 'red',
          expr: 'ALERTS{alertname=~"Afp.*", alertname!="AfpHeartbeat", alertstate="firing", %s=~"$cluster", job=~"$job", instance=~"$instance"}' % config.clusterLabel,
          step: '60s',
          titleFormat: '{{ alertname }} ({{ severity }})',
          textFormat: '{{ instance }}',
          tagKeys: 'severity,component',
          useValueForTime: false,
        },
      ],
    },
    links: [
      {
        title: other.title,
        type: 'link',
        url: '/d/' + other.uid,
        icon: 'dashboard',
        tooltip: 'afp %s dashboard' % other.title,
        includeVars: true,
        keepTime: true,
        asDropdown: false,
        targetBlank: false,
        tags: [],
      }
      for other in dashboards
      if other.uid != d.uid
    ],
    templating: {
      list: $.variables(config, d.uid)
            + [siteVariable(config, v) for v in std.get(d, 'variables', [])],
    },
    panels: [withCluster(config, p) for p in d.panels],
  },
}
