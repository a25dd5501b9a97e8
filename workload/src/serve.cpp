// `afp_workload serve`: the service, its identify load and background ingest, until
// SIGINT or SIGTERM.
#include <pthread.h>
#include <signal.h>

#include <cstring>
#include <functional>
#include <random>
#include <thread>

#include "commands.h"
#include "db_pool.h"
#include "faults.h"
#include "identify.h"
#include "ingest.h"
#include "load.h"
#include "reporter.h"
#include "service.h"
#include "song_store.h"

namespace afp::workload {

namespace {

constexpr auto kSchemaRetry = std::chrono::seconds(2);

// The service's own address for the load generator: a wildcard listener is reached on
// loopback.
std::string identify_url(const std::string& listen, int port) {
  auto colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "[::]") host = "[::1]";
  return "http://" + host + ":" + std::to_string(port) + "/identify";
}

// The songs to ingest while serving: the schema first, as soon as the database is there;
// then the identify load.
void background_ingest(Ingest& ingest, SongStore& store, const std::atomic<bool>& stopping,
                       log::Logger& log, const std::function<void()>& then) {
  for (bool warned = false; !stopping.load();) {
    try {
      store.ensure_schema();
      break;
    } catch (const std::exception& e) {
      if (!warned) log.warn("ingest waits for the database", {{"err", e.what()}});
      warned = true;
      std::this_thread::sleep_for(kSchemaRetry);
    }
  }
  if (stopping.load()) return;
  ingest.run();
  if (!stopping.load()) then();
}

sigset_t block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  // Before any thread starts, so that only the sigwait below receives them.
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return signals;
}

void prepare_schema(SongStore& store, log::Logger& log) {
  try {
    store.ensure_schema();
  } catch (const DbUnavailable& e) {
    log.warn("the database is unavailable; serving anyway (503 until it is back)",
             {{"err", e.what()}});
  }
}

}  // namespace

int run_serve(const ServeCommand& c, std::ostream& err) {
  sigset_t signals = block_stop_signals();
  log::Logger log(c.log_level);
  std::unique_ptr<Reporter> reporter;
  try {
    reporter = Reporter::create(c.report, log);
  } catch (const std::exception& e) {
    err << "afp_workload serve: " << e.what() << "\n";
    return 2;
  }
  // A connection per request thread that may be in the database at once, and one for the
  // load generator's song list and the ingest's workers.
  PoolOptions pool_options;
  pool_options.size = static_cast<std::size_t>(c.concurrency + c.ingest.jobs + 2);
  ConnectionPool pool(c.dsn, pool_options, log);
  SongStore store(pool, *reporter, log);
  Faults faults(c.fault_dsn, log);
  Identifier identifier(store, *reporter, &faults);
  ServiceOptions service_options;
  service_options.listen = c.listen;
  service_options.probe_listen = c.probe_listen;
  service_options.worker_threads = std::max(16, 2 * c.concurrency + 8);
  // Before the faults: probe-unreachable needs the service's probe switch.
  Service service(service_options, identifier, faults, *reporter, log);
  try {
    prepare_schema(store, log);
    for (const auto& spec : c.faults)
      faults.apply(parse_fault_spec(spec, std::thread::hardware_concurrency()));
  } catch (const std::exception& e) {
    err << "afp_workload serve: " << e.what() << "\n";
    return 1;
  }

  std::unique_ptr<Ingest> ingest;
  if (c.ingest.songs > 0) {
    ingest = std::make_unique<Ingest>(c.ingest, store, *reporter, log);
    service.add_stats("ingest", [&ingest] { return ingest->stats_json(); });
  }
  LoadOptions load_options;
  load_options.rate = c.rate;
  load_options.concurrency = c.concurrency;
  load_options.unknown_ratio = c.unknown_ratio;
  load_options.clip_seconds = c.clip_seconds;
  load_options.song_seconds = c.ingest.song_seconds;
  load_options.seed = std::random_device{}();
  LoadGenerator load(load_options, store, log);
  service.add_stats("load", [&load] { return load.stats_json(); });
  try {
    service.start();
  } catch (const std::exception& e) {
    err << "afp_workload serve: " << e.what() << "\n";
    return 1;
  }
  const std::string url = identify_url(c.listen, service.port());
  std::atomic<bool> stopping{false};
  std::thread ingest_thread;
  if (ingest) {
    ingest_thread =
        std::thread(background_ingest, std::ref(*ingest), std::ref(store), std::cref(stopping),
                    std::ref(log), [&load, &url] { load.start(url); });
  } else {
    load.start(url);
  }

  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  log.info("shutting down", {{"signal", strsignal(sig)}});
  stopping.store(true);
  faults.stop();  // first: uploads queued behind a db-stall would hold up the rest
  if (ingest) ingest->stop();
  if (ingest_thread.joinable()) ingest_thread.join();  // before load.stop(): it may start it
  load.stop();
  service.stop();    // in-flight requests finish and report
  reporter->stop();  // then the last observations go out
  log.info("stopped");
  return 0;
}

}  // namespace afp::workload
