// The short commands: init, ingest, fault, identify, synth. `serve` is in serve.cpp.
#include "commands.h"

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "audio.h"
#include "core/progress.h"
#include "db_pool.h"
#include "http_client.h"
#include "identify.h"
#include "ingest.h"
#include "reporter.h"
#include "song_store.h"

namespace afp::workload {

namespace {

// The pieces every database command needs, torn down in the right order.
struct Database {
  ConnectionPool pool;
  SongStore store;
  Database(const std::string& dsn, std::size_t connections, Reporter& reporter, log::Logger& log)
      : pool(dsn, {connections}, log), store(pool, reporter, log) {}
};

int fail(std::ostream& err, std::string_view command, const std::string& why) {
  err << "afp_workload " << command << ": " << why << "\n";
  return 1;
}

int run_init(const InitCommand& c, std::ostream& out, std::ostream& err) {
  log::Logger log(c.log_level);
  Reporter none(nullptr, log, {});
  try {
    Database db(c.dsn, 1, none, log);
    db.store.ensure_schema();
  } catch (const std::exception& e) {
    return fail(err, "init", e.what());
  }
  out << "the Dejavu schema is ready\n";
  return 0;
}

int run_ingest(const IngestCommand& c, std::ostream& out, std::ostream& err) {
  log::Logger log(c.log_level);
  std::unique_ptr<Reporter> reporter;
  try {
    reporter = Reporter::create(c.report, log);
  } catch (const std::exception& e) {
    err << "afp_workload ingest: " << e.what() << "\n";
    return 2;
  }
  IngestCounts counts;
  try {
    Database db(c.dsn, static_cast<std::size_t>(c.ingest.jobs) + 1, *reporter, log);
    db.store.ensure_schema();
    Ingest ingest(c.ingest, db.store, *reporter, log);
    // Songs done of total: a redrawn line on a terminal, else a line every 10 s.
    core::ProgressLine progress(
        err, "afp_workload ingest",
        core::ProgressLine::Options{&err == &std::cerr && core::stderr_is_terminal()});
    ingest.on_progress([&progress](const IngestCounts& n, bool final) {
      if (final) {
        progress.finish();
        return;
      }
      progress.update(ingest_progress_text(n));
    });
    counts = ingest.run();
  } catch (const std::exception& e) {
    return fail(err, "ingest", e.what());
  }
  reporter->stop();  // the last timings go out before the process does
  out << "stored " << counts.stored << ", skipped " << counts.skipped << " (stored before), failed "
      << counts.failed << " of " << counts.total << " songs\n";
  return counts.failed == 0 ? 0 : 1;
}

std::string admin_url(std::string url) {
  constexpr std::string_view kPath = "/admin/faults";
  if (url.ends_with(kPath)) return url;
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  return url + std::string(kPath);
}

int run_fault(const FaultCommand& c, std::ostream& out, std::ostream& err) {
  std::string body;
  for (const auto& spec : c.specs)
    body += spec + "\n";
  HttpReply reply;
  try {
    HttpClient client;
    // Clearing drop-index rebuilds the index: that can take a while on a big table.
    reply = client.send(
        {admin_url(c.url), "POST", {"Content-Type: text/plain"}, body, std::chrono::minutes(11)});
  } catch (const std::exception& e) {
    return fail(err, "fault", e.what());
  }
  if (!reply.answered()) return fail(err, "fault", c.url + ": " + reply.error);
  if (reply.status != 200) {
    // One line: the JSON answer ends with a newline of its own.
    auto why = reply.body;
    while (!why.empty() && (why.back() == '\n' || why.back() == '\r'))
      why.pop_back();
    return fail(err, "fault", "HTTP " + std::to_string(reply.status) + ": " + why);
  }
  out << reply.body;
  return 0;
}

int run_identify(const IdentifyCommand& c, std::ostream& out, std::ostream& err) {
  std::ifstream in(c.file, std::ios::binary);
  if (!in) return fail(err, "identify", c.file + ": cannot open the file");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return fail(err, "identify", c.file + ": cannot read the file");
  log::Logger log(c.log_level);
  Reporter none(nullptr, log, {});
  try {
    Database db(c.dsn, 1, none, log);
    Identifier identifier(db.store, none, nullptr);
    StageTimes stages;
    auto result = identifier.identify(bytes, stages);
    out << to_json(result).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } catch (const AudioError& e) {
    return fail(err, "identify", c.file + ": " + e.what());
  } catch (const std::exception& e) {
    return fail(err, "identify", e.what());
  }
  return 0;
}

int run_synth(const SynthCommand& c, std::ostream& err) {
  try {
    Audio audio = synth_song(c.seed, c.seconds);
    if (c.clip_seconds > 0) audio = cut(audio, c.start, c.clip_seconds);
    std::string wav = encode_wav(audio);
    std::ofstream file(c.out, std::ios::binary | std::ios::trunc);
    file.write(wav.data(), static_cast<std::streamsize>(wav.size()));
    file.close();
    if (!file) return fail(err, "synth", c.out + ": cannot write the file");
  } catch (const std::exception& e) {
    return fail(err, "synth", e.what());
  }
  return 0;
}

}  // namespace

int run_command(const Command& command, std::ostream& out, std::ostream& err) {
  struct Visitor {
    std::ostream& out;
    std::ostream& err;
    int operator()(const HelpCommand& c) const {
      out << c.text;
      return 0;
    }
    int operator()(const InitCommand& c) const { return run_init(c, out, err); }
    int operator()(const IngestCommand& c) const { return run_ingest(c, out, err); }
    int operator()(const ServeCommand& c) const { return run_serve(c, err); }
    int operator()(const FaultCommand& c) const { return run_fault(c, out, err); }
    int operator()(const IdentifyCommand& c) const { return run_identify(c, out, err); }
    int operator()(const SynthCommand& c) const { return run_synth(c, err); }
  };
  return std::visit(Visitor{out, err}, command);
}

}  // namespace afp::workload
