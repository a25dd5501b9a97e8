#include "cli/db.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <thread>

#include "cli/flags.h"
#include "cli/subcommand.h"
#include "config/options.h"
#include "core/progress.h"
#include "core/severity.h"
#include "log/logger.h"
#include "pg/connection.h"
#include "pg/dsn.h"
#include "pg/excluded_roles.h"
#include "pg/index_progress.h"

namespace afp::cli {

namespace {

using json = nlohmann::ordered_json;
using std::chrono::milliseconds;

constexpr std::string_view kUsage =
    "usage: afp_exporter db report [--format text|json] [flags]\n"
    "       afp_exporter db optimize [--apply] [flags]\n"
    "\n"
    "report   reads the catalog and the statistics views and prints findings, each with its\n"
    "         severity, the evidence and the SQL that fixes it. Read-only (pg_monitor).\n"
    "optimize prints the safe actions (ANALYZE, VACUUM (ANALYZE), CREATE INDEX CONCURRENTLY of\n"
    "         the missing fingerprint hash index); --apply runs them one by one, as the table\n"
    "         owner. It never drops or rewrites anything; a second run finds nothing to do.\n"
    "\n"
    "Flags:\n"
    "  --fingerprint-table NAME   the Dejavu fingerprint table (default fingerprints)\n"
    "  --hash-column NAME         its hash column (default hash)\n"
    "  --stale-analyze-age DUR    statistics older than this are stale when rows changed\n"
    "                             since (default 168h)\n"
    "  --window DUR               how long to watch the fingerprint table's scans: look-ups\n"
    "                             are judged by what they do now, not by the counters since\n"
    "                             the last statistics reset (default 5s, 1s to 10m)\n"
    "  --timeout DUR              statement_timeout of the session (default 1m for report,\n"
    "                             1h for optimize)\n"
    "  --pg.cache-settle DUR      how long after PostgreSQL started its cache hit ratio is\n"
    "                             not judged (default 15m, as AfpPostgresCacheHitLow)\n"
    "  --pg.dsn-file FILE         the DSN, when neither AFP_PG_DSN nor AFP_PG_DSN_FILE is set\n"
    "  --pg.statements.exclude-users ROLE,...\n"
    "                             leave out the statements these roles ran (as the server)\n"
    "  --format text|json         report output (default text)\n"
    "  --apply                    optimize: run the plan instead of printing it\n"
    "\n"
    "Exit status: report 0 no findings above info, 1 a warning or critical finding;\n"
    "optimize 0 nothing (left) to do, 1 actions pending (dry run) or a finding optimize will\n"
    "not fix by itself; 2 error (flags, no DSN, connection, a failed action).\n";

// The window: the statistics reach the views up to a second late, so a shorter one sees
// mostly noise; a longer one than 10 minutes is a mistake for a command run by hand.
constexpr milliseconds kDefaultWindow = std::chrono::seconds(5);
constexpr milliseconds kMinWindow = std::chrono::seconds(1);
constexpr milliseconds kMaxWindow = std::chrono::minutes(10);

struct DbOptions {
  std::string verb;
  bool help = false;
  pg::AdvisorSettings settings;
  milliseconds window = kDefaultWindow;
  std::string format = "text";
  bool apply = false;
  std::optional<milliseconds> timeout;
  std::string dsn_file;
};

// Throws std::invalid_argument with the message for err.
DbOptions parse_flags(const std::vector<std::string>& args) {
  DbOptions o;
  std::size_t i = 0;
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    o.help = true;
    return o;
  }
  if (args.empty() || (args[0] != "report" && args[0] != "optimize")) {
    throw std::invalid_argument(args.empty() ? "missing verb (report or optimize)"
                                             : "unknown verb \"" + args[0] + "\"");
  }
  o.verb = args[i++];
  FlagReader flag(args, "db", i);
  while (flag.next()) {
    if (flag.help()) {
      o.help = true;
    } else if (flag.is("apply")) {
      flag.no_value();
      if (o.verb != "optimize") throw std::invalid_argument("--apply is a db optimize flag");
      o.apply = true;
    } else if (flag.is("fingerprint-table")) {
      o.settings.fingerprint_table = flag.value();
    } else if (flag.is("hash-column")) {
      o.settings.hash_column = flag.value();
    } else if (flag.is("stale-analyze-age")) {
      o.settings.stale_analyze_age = flag.duration();
    } else if (flag.is("window")) {
      o.window = flag.duration();
      if (o.window < kMinWindow || o.window > kMaxWindow) {
        throw std::invalid_argument(
            "flag --window: give 1s to 10m (the statistics reach the views up to a second late)");
      }
    } else if (flag.is("pg.statements.exclude-users")) {
      try {
        o.settings.exclude_users = pg::parse_role_list(flag.value());
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("flag --pg.statements.exclude-users: " + std::string(e.what()));
      }
    } else if (flag.is("timeout")) {
      o.timeout = flag.duration();
    } else if (flag.is("pg.cache-settle")) {
      o.settings.cache_settle = std::chrono::duration_cast<std::chrono::seconds>(flag.duration());
    } else if (flag.is("pg.dsn-file")) {
      o.dsn_file = flag.value();
    } else if (flag.is("format")) {
      if (o.verb != "report") throw std::invalid_argument("--format is a db report flag");
      o.format = flag.value();
      if (o.format != "text" && o.format != "json") {
        throw std::invalid_argument("flag --format: \"" + o.format + "\" is not text or json");
      }
    } else {
      flag.unknown();
    }
  }
  return o;
}

// libpq messages can span lines; the error is one line.
std::string one_line(std::string text) {
  std::string out;
  bool newline = false;
  for (char c : text) {
    if (c == '\n' || c == '\r') {
      newline = true;
      continue;
    }
    if (newline) {
      while (!out.empty() && out.back() == ' ')
        out.pop_back();
      if (!out.empty()) out += "; ";
      newline = false;
      if (c == ' ' || c == '\t') continue;
    }
    if (c == '\t') c = ' ';
    out += c;
  }
  return out;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return fixed(b, u == 0 ? 0 : 1) + " " + units[u];
}

std::string human_age(double s) {
  auto total = static_cast<long long>(std::llround(s));
  if (total < 120) return std::to_string(total) + "s";
  if (total < 7200) return std::to_string(total / 60) + "m";
  auto two = [](long long big, const char* big_unit, long long small, const char* small_unit) {
    return std::to_string(big) + big_unit + (small ? std::to_string(small) + small_unit : "");
  };
  if (total < 172800) return two(total / 3600, "h", total % 3600 / 60, "m");
  return two(total / 86400, "d", total % 86400 / 3600, "h");
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// One evidence item as text: the JSON value, with a reading aid for bytes, ages, ratios.
std::string evidence_item(const std::string& key, const json& v) {
  std::string text;
  bool is_age = key.find("age") != std::string::npos && ends_with(key, "_seconds");
  if (v.is_null()) return key + "=" + (is_age ? "never" : "-");
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    bool plain = !s.empty() && s.find_first_of(" \t\"=,") == std::string::npos;
    text = plain ? s : v.dump();
  } else if (v.is_array()) {
    for (const auto& e : v) {
      if (!text.empty()) text += ",";
      text += e.is_string() ? e.get<std::string>() : e.dump();
    }
  } else {
    text = v.dump();
  }
  if (v.is_number()) {
    double d = v.get<double>();
    if (ends_with(key, "_bytes")) text += " (" + human_bytes(d) + ")";
    if (is_age) text += " (" + human_age(d) + ")";
    if (ends_with(key, "_ratio")) text += " (" + fixed(d * 100, 1) + " %)";
  }
  return key + "=" + text;
}

// Writes `label` then `items` separated by two spaces, wrapped at 100 columns.
void print_wrapped(std::ostream& out, std::string_view label, const std::vector<std::string>& items,
                   std::size_t gap = 2) {
  const std::string indent(2 + label.size(), ' ');
  std::size_t col = 2 + label.size();
  out << "  " << label;
  bool first = true;
  for (const auto& item : items) {
    if (!first && col + gap + item.size() > 100) {
      out << "\n" << indent;
      col = indent.size();
    } else if (!first) {
      out << std::string(gap, ' ');
      col += gap;
    }
    out << item;
    col += item.size();
    first = false;
  }
  out << "\n";
}

// Writes `label` then the words of `text`, wrapped at 100 columns.
void print_words(std::ostream& out, std::string_view label, std::string_view text) {
  std::vector<std::string> words;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) words.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  print_wrapped(out, label, words, 1);
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

void print_header(std::ostream& out, const ReportContext& ctx) {
  out << "database " << ctx.database << " (" << ctx.target << "), fingerprint table "
      << ctx.fingerprint_table << " (" << ctx.hash_column << ")\n";
  if (ctx.window_seconds) {
    out << "look-ups judged by the scans of the last " << fixed(*ctx.window_seconds, 1) << " s\n";
  }
}

struct Summary {
  int critical = 0, warning = 0, info = 0;
};

Summary summarize(const std::vector<pg::Finding>& findings) {
  Summary s;
  for (const auto& f : findings) {
    if (f.severity == core::Severity::Critical) ++s.critical;
    if (f.severity == core::Severity::Warning) ++s.warning;
    if (f.severity == core::Severity::Info) ++s.info;
  }
  return s;
}

}  // namespace

void print_report_text(std::ostream& out, const ReportContext& ctx,
                       const std::vector<pg::Finding>& findings) {
  print_header(out, ctx);
  if (findings.empty()) {
    out << "\nno findings\n";
    return;
  }
  for (const auto& f : findings) {
    out << "\n" << upper(core::words_of(f.severity).finding) << "  " << f.title << "\n";
    out << "  id:       " << f.id << "\n";
    std::vector<std::string> items;
    for (const auto& [key, value] : f.evidence.items())
      items.push_back(evidence_item(key, value));
    if (!items.empty()) print_wrapped(out, "evidence: ", items);
    if (!f.fix_sql.empty()) out << "  fix:      " << f.fix_sql << "\n";
    if (!f.note.empty()) print_words(out, "note:     ", f.note);
    if (f.action) {
      print_words(out, "optimize: ",
                  f.blocked.empty() ? "does this (db optimize --apply)" : "will not: " + f.blocked);
    }
  }
  auto s = summarize(findings);
  out << "\n"
      << findings.size() << (findings.size() == 1 ? " finding: " : " findings: ") << s.critical
      << " critical, " << s.warning << " warning, " << s.info << " info\n";
}

void print_report_json(std::ostream& out, const ReportContext& ctx,
                       const std::vector<pg::Finding>& findings) {
  json list = json::array();
  for (const auto& f : findings) {
    json j;
    j["id"] = f.id;
    j["severity"] = core::words_of(f.severity).finding;
    j["subject"] = f.subject;
    j["title"] = f.title;
    j["evidence"] = f.evidence;
    j["fix_sql"] = f.fix_sql.empty() ? json(nullptr) : json(f.fix_sql);
    if (!f.note.empty()) j["note"] = f.note;
    j["optimize"] = !f.action           ? json(nullptr)
                    : f.blocked.empty() ? json(f.action->sql)
                                        : json(nullptr);
    if (!f.blocked.empty()) j["optimize_blocked"] = f.blocked;
    list.push_back(std::move(j));
  }
  auto s = summarize(findings);
  json doc;
  doc["database"] = ctx.database;
  doc["target"] = ctx.target;
  doc["fingerprint_table"] = ctx.fingerprint_table;
  doc["hash_column"] = ctx.hash_column;
  doc["window_seconds"] =
      ctx.window_seconds ? json(std::round(*ctx.window_seconds * 10) / 10) : json(nullptr);
  doc["findings"] = std::move(list);
  doc["summary"] = {{"critical", s.critical}, {"warning", s.warning}, {"info", s.info}};
  out << doc.dump(2) << "\n";
}

namespace {

struct Session {
  pg::Connection& conn;
  const DbOptions& o;
  milliseconds timeout;
  std::string target;
  std::string conninfo;  // for the second connection that watches an index build
  log::Logger& log;
  bool terminal = false;  // stderr is a terminal: progress as one redrawn line

  pg::Clock::time_point deadline() const {
    // The server's statement_timeout fires first and says so; this is the backstop.
    return pg::Clock::now() + timeout + std::chrono::minutes(1);
  }
};

ReportContext context_of(const pg::DatabaseSnapshot& snap, const std::string& target) {
  std::optional<double> window;
  if (snap.window) window = snap.window->seconds;
  return {snap.database, target, snap.fp_sql_name, snap.hash_column_sql, window};
}

// The snapshot with the window: the table's scan counters sampled --window apart.
pg::DatabaseSnapshot load_watched(Session& s) {
  auto snap = pg::load_snapshot(s.conn, s.o.settings, s.deadline());
  const auto target = pg::scan_target(snap, s.o.settings);
  auto before = pg::sample_scans(s.conn, target, s.deadline());
  std::this_thread::sleep_for(s.o.window);
  snap.window = pg::window_between(before, pg::sample_scans(s.conn, target, s.deadline()));
  return snap;
}

int run_report(Session& s, std::ostream& out) {
  auto snap = load_watched(s);
  auto findings = pg::evaluate(snap, s.o.settings);
  if (s.o.format == "json") {
    print_report_json(out, context_of(snap, s.target), findings);
  } else {
    print_report_text(out, context_of(snap, s.target), findings);
  }
  return pg::report_exit_code(findings);
}

bool same_finding(const pg::Finding& a, const pg::Finding& b) {
  return a.id == b.id && a.subject == b.subject;
}

int run_optimize(Session& s, std::ostream& out, std::ostream& err) {
  auto snap = load_watched(s);
  auto findings = pg::evaluate(snap, s.o.settings);
  auto plan = pg::make_plan(findings);
  print_header(out, context_of(snap, s.target));

  std::size_t others = 0;
  for (const auto& f : findings)
    others += f.action ? 0 : 1;
  auto print_rest = [&] {
    if (!plan.blocked.empty()) {
      out << "not done (you decide):\n";
      for (const auto* f : plan.blocked) {
        print_words(out, "- ", f->id + ": " + f->blocked);
        if (!f->fix_sql.empty()) out << "    by hand: " << f->fix_sql << "\n";
      }
    }
    if (others > 0) {
      out << others << (others == 1 ? " other finding is" : " other findings are")
          << " not for optimize (it never drops or rewrites anything): see db report\n";
    }
  };

  if (plan.actions.empty()) {
    out << (plan.blocked.empty() ? "nothing to do\n" : "nothing optimize can do by itself\n");
    print_rest();
    return plan.blocked.empty() ? 0 : 1;
  }
  auto n = plan.actions.size();
  out << "plan: " << n << (n == 1 ? " action" : " actions")
      << (s.o.apply ? "" : " (dry run: nothing is changed; --apply runs it)") << "\n";
  std::vector<std::string> refused;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& p = plan.actions[i];
    std::string ids;
    for (const auto& id : p.finding_ids)
      ids += (ids.empty() ? "" : ", ") + id;
    out << "  " << i + 1 << ". " << p.action.sql << "\n     resolves: " << ids << "\n";
    if (!p.action.permitted) {
      out << "     needs: the owner of " << p.action.table << " (role " << snap.user
          << " may not run it)\n";
      refused.push_back(p.action.table);
    }
  }
  print_rest();
  if (!s.o.apply) return kExitProblem;
  if (!refused.empty()) {
    err << "db optimize: role " << snap.user << " may not maintain " << refused.front()
        << ": run --apply as the table owner; nothing was changed\n";
    return kExitError;
  }

  out << "applying:\n";
  bool failed = false;
  std::vector<const pg::PlannedAction*> done;
  // The backend that runs the actions, whose index builds a second connection watches.
  int pid = 0;
  try {
    pid = std::stoi(std::string(s.conn.query("SELECT pg_backend_pid()", s.deadline()).value(0, 0)));
  } catch (const std::exception&) {
    // no progress, the actions run all the same
  }
  for (std::size_t i = 0; i < n; ++i) {
    const auto& p = plan.actions[i];
    const bool watch = pid > 0 && p.action.kind == pg::ActionKind::CreateIndex;
    out << "  [" << i + 1 << "/" << n << "] " << p.action.sql << " ... ";
    // On a terminal the progress line goes below the action, not over it.
    if (watch && s.terminal) out << "\n";
    out << std::flush;
    auto start = std::chrono::steady_clock::now();
    auto seconds = [&] {
      return fixed(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                   2) +
             " s";
    };
    try {
      std::optional<core::ProgressLine> progress;
      std::optional<pg::CreateIndexWatcher> watcher;
      if (watch) {
        progress.emplace(err,
                         "db optimize: [" + std::to_string(i + 1) + "/" + std::to_string(n) +
                             "] CREATE INDEX on " + p.action.table,
                         core::ProgressLine::Options{s.terminal});
        watcher.emplace(s.conninfo, pid, std::chrono::seconds(1), s.log,
                        [&progress](const pg::CreateIndexProgress& row) {
                          progress->update(pg::describe(row));
                        });
      }
      // One statement per query, outside any transaction block: CREATE INDEX CONCURRENTLY
      // and VACUUM refuse to run inside one.
      s.conn.query(p.action.sql, s.deadline());
      watcher.reset();
      if (progress) progress->finish();
      out << (watch && s.terminal ? "      done in " : "done in ") << seconds() << "\n";
      done.push_back(&p);
    } catch (const pg::PgError& e) {
      failed = true;
      out << "FAILED after " << seconds() << ": " << one_line(e.what()) << "\n";
      if (p.action.kind == pg::ActionKind::CreateIndex) {
        out << "      a failed CREATE INDEX CONCURRENTLY leaves an INVALID index behind: "
               "see db report\n";
      }
    }
  }

  // Check the result: each finding an action resolved must be gone (none is judged from the
  // window, so none needs one). PostgreSQL before 15 hands statistics to a collector
  // process, which takes a moment.
  if (snap.server_version < 150000) std::this_thread::sleep_for(std::chrono::seconds(1));
  auto after = pg::evaluate(pg::load_snapshot(s.conn, s.o.settings, s.deadline()), s.o.settings);
  bool unresolved = false;
  for (const auto* p : done) {
    for (const auto& f : after) {
      bool resolved_here = false;
      for (const auto& id : p->finding_ids)
        resolved_here = resolved_here || id == f.id;
      if (!resolved_here || !f.action || f.action->table != p->action.table) continue;
      unresolved = true;
      out << "still reported after " << p->action.sql << " " << f.title;
      if (f.id == "dead_rows") {
        out << " (VACUUM cannot remove rows a long-running transaction or a replication slot "
               "may still see)";
      }
      out << "\n";
    }
  }
  for (const auto& f : after) {
    if (f.id != "invalid_index") continue;
    bool known = false;
    for (const auto& g : findings)
      known = known || same_finding(f, g);
    if (!known) out << "new: " << f.title << "\n";
  }
  if (failed) {
    err << "db optimize: an action failed (see above)\n";
    return kExitError;
  }
  if (!unresolved) out << "done: " << done.size() << " of " << n << " actions, all resolved\n";
  return unresolved || !plan.blocked.empty() ? kExitProblem : kExitOk;
}

// Connects as the DSN says and runs the verb; its exit code.
int run_verb(const DbOptions& o, std::ostream& out, std::ostream& err) {
  const std::string prefix = "db " + o.verb + ": ";
  std::optional<pg::Dsn> dsn;
  try {
    dsn = pg::load_dsn_from_environment(std::getenv, o.dsn_file);
  } catch (const pg::DsnError& e) {
    err << prefix << e.what() << "\n";
    return kExitError;
  }
  if (!dsn) {
    err << prefix
        << "no PostgreSQL DSN: set AFP_PG_DSN or AFP_PG_DSN_FILE, or pass --pg.dsn-file FILE\n";
    return kExitError;
  }
  const bool writes = o.verb == "optimize" && o.apply;
  milliseconds timeout =
      o.timeout.value_or(o.verb == "optimize" ? std::chrono::hours(1) : std::chrono::minutes(1));
  // Connection failures become the one line below, not log lines.
  log::Logger quiet(log::Level::error, log::Format::logfmt, [](std::string_view) {});
  pg::ConnectionOptions copts;
  copts.connect_timeout = std::chrono::seconds(10);
  copts.statement_timeout = timeout;
  pg::Connection conn(dsn->conninfo, copts, quiet);
  // Progress of an index build as a redrawn line only when stderr is really a terminal.
  const bool terminal = &err == &std::cerr && core::stderr_is_terminal();
  Session session{conn, o, timeout, pg::describe(dsn->conninfo), dsn->conninfo, quiet, terminal};
  try {
    // report and a dry run cannot change anything, whatever the role may do.
    conn.query(writes ? "SELECT 1" : "SET default_transaction_read_only = on", session.deadline());
  } catch (const pg::PgError& e) {
    err << prefix << "cannot connect to " << session.target << " (DSN from " << dsn->source
        << "): " << one_line(pg::scrub(e.what(), dsn->conninfo)) << "\n";
    return kExitError;
  }
  try {
    return o.verb == "report" ? run_report(session, out) : run_optimize(session, out, err);
  } catch (const std::exception& e) {
    err << prefix << one_line(pg::scrub(e.what(), dsn->conninfo)) << "\n";
  }
  return kExitError;
}

}  // namespace

int run_db(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const Subcommand command{"db", std::string(kUsage), true};
  return run_subcommand(
      command, out, err, [&] { return parse_flags(args); },
      [&](const DbOptions& o) { return run_verb(o, out, err); });
}

}  // namespace afp::cli
