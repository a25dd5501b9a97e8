#include "collectors/filesystem.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "collectors/statfs_pool.h"
#include "collectors/system_collectors.h"
#include "fixed_sources.h"
#include "golden.h"

using namespace afp;
using collectors::StatFn;
using collectors::StatResult;
using test::fixed_stat;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// Lets a fake stat call block until the test opens the gate.
struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> calls{0};

  void pass() {
    ++calls;
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return open; });
  }
  void release() {
    {
      std::lock_guard lock(mutex);
      open = true;
    }
    cv.notify_all();
  }
};

// fixed_stat, but calls on `hung_suffix` wait at the gate.
StatFn hanging_stat(std::shared_ptr<Gate> gate, std::string hung_suffix) {
  return [gate = std::move(gate), hung_suffix = std::move(hung_suffix)](const std::string& path) {
    if (path.size() >= hung_suffix.size() &&
        path.compare(path.size() - hung_suffix.size(), hung_suffix.size(), hung_suffix) == 0) {
      gate->pass();
    }
    return fixed_stat(path);
  };
}

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

const std::string kNfsLabels =
    "{device=\"nfs.example.internal:/export/fingerprints\",fstype=\"nfs4\",mountpoint=\"/mnt/"
    "fingerprints\"}";

// Polls until pred() holds or the time is up.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5000ms) {
  auto end = Clock::now() + limit;
  while (!pred()) {
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// A fixture tree in a temp dir, removed afterwards.

}  // namespace

TEST_CASE("filesystem reports each mount: exclusions, dedupe, readonly, octal escapes",
          "[collector][filesystem]") {
  auto c = collectors::make_filesystem_collector(test::fixture_settings(), fixed_stat);
  auto r = test::run_collector(*c);
  CHECK(r.malformed == 0);
  test::check_golden(r.text, "filesystem");
}

TEST_CASE("filesystem include patterns replace the default exclude patterns",
          "[collector][filesystem]") {
  auto mountpoints_of = [](const collectors::CollectorSettings& settings) {
    auto c = collectors::make_filesystem_collector(settings, fixed_stat);
    auto text = test::run_collector(*c).text;
    std::vector<std::string> out;
    const std::string prefix = "\nnode_filesystem_readonly{";
    for (auto pos = text.find(prefix); pos != std::string::npos; pos = text.find(prefix, pos + 1)) {
      auto start = text.find("mountpoint=\"", pos) + 12;
      out.push_back(text.substr(start, text.find('"', start) - start));
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  using Mounts = std::vector<std::string>;
  auto settings = test::fixture_settings();
  settings.fs_types_include = "^(xfs|nfs4)$";
  CHECK(mountpoints_of(settings) == Mounts{"/mnt/archive", "/mnt/fingerprints"});
  // squashfs and /run/credentials are in the default exclude patterns, which an include
  // pattern drops, as in node_exporter.
  settings.fs_types_include = "^squashfs$";
  CHECK(mountpoints_of(settings) == Mounts{"/snap/core22/1380"});
  settings.fs_types_include = "";
  settings.mount_points_include = "^/(run/credentials|mnt/a)";
  CHECK(mountpoints_of(settings) ==
        Mounts{"/mnt/archive", "/run/credentials/systemd-sysusers.service"});
  // A non-default exclude pattern still applies (the options refuse it with an include).
  settings.mount_points_exclude = "^/run";
  CHECK(mountpoints_of(settings) == Mounts{"/mnt/archive"});
}

TEST_CASE("filesystem stats the real root filesystem", "[collector][filesystem]") {
  test::TempTree tree("real");
  tree.write("proc/1/mounts", "/dev/root / ext4 rw,relatime 0 0\n");
  collectors::CollectorSettings settings;
  settings.procfs = (tree.root / "proc").string();
  settings.rootfs = "/";
  auto c = collectors::make_filesystem_collector(settings, collectors::real_statfs);
  auto r = test::run_collector(*c);
  INFO(r.text);
  const std::string labels = "{device=\"/dev/root\",fstype=\"ext4\",mountpoint=\"/\"}";
  CHECK(contains(r.text, "node_filesystem_device_error" + labels + " 0\n"));
  auto pos = r.text.find("node_filesystem_size_bytes" + labels + " ");
  REQUIRE(pos != std::string::npos);
  CHECK(std::stod(r.text.substr(pos + std::string("node_filesystem_size_bytes").size() +
                                labels.size() + 1)) > 0);
}

TEST_CASE("filesystem reads the live mount table and reuses it until it changes",
          "[collector][filesystem]") {
  collectors::CollectorSettings settings;  // /proc, rootfs "/"
  settings.fs_types_exclude = "^$";        // whatever / is (overlay in a container), keep it
  std::atomic<int> calls{0};
  auto c = collectors::make_filesystem_collector(settings, [&calls](const std::string&) {
    ++calls;
    return StatResult{0, 4096, 10, 5, 4, 100, 50};
  });
  auto first = test::run_collector(*c);
  auto second = test::run_collector(*c);
  INFO(first.text);
  CHECK(first.text == second.text);
  CHECK(first.malformed == 0);
  CHECK(calls > 0);
  CHECK(contains(first.text, "mountpoint=\"/\"} 40960\n"));
}

TEST_CASE("filesystem falls back to self/mounts", "[collector][filesystem]") {
  test::TempTree tree("fallback");
  tree.write("proc/self/mounts", "/dev/root / ext4 ro,relatime 0 0\n");
  auto settings = test::fixture_settings();
  settings.procfs = (tree.root / "proc").string();
  auto c = collectors::make_filesystem_collector(settings, fixed_stat);
  auto r = test::run_collector(*c);
  CHECK(contains(r.text,
                 "node_filesystem_readonly{device=\"/dev/root\",fstype=\"ext4\","
                 "mountpoint=\"/\"} 1\n"));
  CHECK(contains(r.text,
                 "node_filesystem_size_bytes{device=\"/dev/root\",fstype=\"ext4\","
                 "mountpoint=\"/\"} 61440000000\n"));
}

TEST_CASE("filesystem fails cleanly without a mount table", "[collector][filesystem]") {
  auto settings = test::fixture_settings();
  settings.procfs = test::fixture("does-not-exist");
  auto c = collectors::make_filesystem_collector(settings, fixed_stat);
  CHECK_THROWS_WITH(test::run_collector(*c), Catch::Contains("does-not-exist/self/mounts"));
}

TEST_CASE("filesystem reports a failing statfs as device_error only", "[collector][filesystem]") {
  auto fake = [](const std::string& path) {
    if (path.size() >= 5 && path.compare(path.size() - 5, 5, "/boot") == 0) {
      return StatResult{EIO};
    }
    return fixed_stat(path);
  };
  auto c = collectors::make_filesystem_collector(test::fixture_settings(), fake);
  auto text = test::run_collector(*c).text;
  const std::string boot = "{device=\"/dev/nvme0n1p1\",fstype=\"vfat\",mountpoint=\"/boot\"}";
  CHECK(contains(text, "node_filesystem_device_error" + boot + " 1\n"));
  CHECK(contains(text, "node_filesystem_readonly" + boot + " 0\n"));  // "ro" option only
  CHECK_FALSE(contains(text, "node_filesystem_size_bytes" + boot));
  CHECK_FALSE(contains(text, "node_filesystem_files" + boot));
  // fuse.portal answers EACCES in every run (see the golden file).
  CHECK(contains(text,
                 "node_filesystem_device_error{device=\"portal\",fstype=\"fuse.portal\","
                 "mountpoint=\"/run/user/1000/doc\"} 1\n"));
  CHECK(contains(text,
                 "node_filesystem_size_bytes{device=\"/dev/nvme0n1p2\",fstype=\"ext4\","
                 "mountpoint=\"/\"} 61440000000\n"));
}

TEST_CASE("filesystem skips and counts malformed mount lines", "[collector][filesystem]") {
  auto c = collectors::make_filesystem_collector(test::fixture_settings("malformed"), fixed_stat);
  auto r = test::run_collector(*c);
  INFO(r.text);
  // "this is not a mount line", "/dev/sdb1 /mnt/data", "garbage", the relative mount point
  // and the truncated last line; the empty line is not counted.
  CHECK(r.malformed == 5);
  CHECK(contains(r.text,
                 "node_filesystem_size_bytes{device=\"/dev/nvme0n1p2\",fstype=\"ext4\","
                 "mountpoint=\"/\"} 61440000000\n"));
  CHECK(contains(r.text,
                 "node_filesystem_size_bytes{device=\"/dev/nvme0n1p1\",fstype=\"vfat\","
                 "mountpoint=\"/boot\"} 536870912\n"));
  CHECK(contains(r.text,
                 "node_filesystem_size_bytes{device=\"tmpfs\",fstype=\"tmpfs\","
                 "mountpoint=\"/run\"} 1670557696\n"));
  CHECK_FALSE(contains(r.text, "mnt/data"));
  CHECK_FALSE(contains(r.text, "mnt/trunc"));
  CHECK_FALSE(contains(r.text, "relative"));
}

TEST_CASE("filesystem does not hang on a hung statfs and skips the mount until it returns",
          "[collector][filesystem][hang][concurrency]") {
  auto gate = std::make_shared<Gate>();
  auto settings = test::fixture_settings();
  settings.mount_timeout = 200ms;
  auto c = collectors::make_filesystem_collector(settings, hanging_stat(gate, "/mnt/fingerprints"));
  auto start = Clock::now();
  auto first = test::run_collector(*c).text;
  CHECK(Clock::now() - start < 3s);
  CHECK(gate->calls == 1);
  CHECK(contains(first, "node_filesystem_device_error" + kNfsLabels + " 1\n"));
  CHECK(contains(first, "node_filesystem_readonly" + kNfsLabels + " 0\n"));
  CHECK_FALSE(contains(first, "node_filesystem_size_bytes" + kNfsLabels));
  // Every other mount answered normally in the same scrape.
  CHECK(contains(first,
                 "node_filesystem_size_bytes{device=\"/dev/nvme0n1p2\",fstype=\"ext4\","
                 "mountpoint=\"/\"} 61440000000\n"));
  CHECK(contains(first,
                 "node_filesystem_size_bytes{device=\"tmpfs\",fstype=\"tmpfs\","
                 "mountpoint=\"/run/user/1000\"} 1670553600\n"));

  // The mount is stuck: reported at once, without another call.
  start = Clock::now();
  auto second = test::run_collector(*c).text;
  CHECK(Clock::now() - start < 3s);
  CHECK(gate->calls == 1);
  CHECK(second == first);

  // Once the hung call returns, the mount is statted again.
  gate->release();
  std::string text;
  CHECK(eventually([&] {
    text = test::run_collector(*c).text;
    return !contains(text, "node_filesystem_device_error" + kNfsLabels + " 1\n");
  }));
  CHECK(gate->calls == 2);
  test::check_golden(text, "filesystem");
}

TEST_CASE("filesystem collectors of successive reloads share one pool: a hung mount leaks nothing",
          "[collector][filesystem][hang][concurrency]") {
  auto gate = std::make_shared<Gate>();
  auto settings = test::fixture_settings();
  settings.mount_timeout = 100ms;
  auto pool = std::make_shared<collectors::StatfsPool>(hanging_stat(gate, "/mnt/fingerprints"));
  for (int reload = 0; reload < 5; ++reload) {
    auto c = collectors::make_filesystem_collector(settings, pool);
    auto text = test::run_collector(*c).text;
    CHECK(contains(text, "node_filesystem_device_error" + kNfsLabels + " 1\n"));
  }
  // Each reload's collector knew the mount was stuck: one hung thread, not one per SIGHUP.
  CHECK(gate->calls == 1);
  CHECK(pool->counts().stuck == 1);
  gate->release();
  CHECK(eventually([&] { return pool->counts().stuck == 0; }));
}

TEST_CASE("filesystem gives identical output to concurrent scrapes",
          "[collector][filesystem][concurrency]") {
  auto c = collectors::make_filesystem_collector(test::fixture_settings(), fixed_stat);
  const std::string expected = test::run_collector(*c).text;
  constexpr int kRounds = 200;
  std::vector<std::string> results[2];
  std::vector<std::thread> threads;
  for (auto& out : results) {
    threads.emplace_back([&c, &out] {
      for (int i = 0; i < kRounds; ++i)
        out.push_back(test::run_collector(*c).text);
    });
  }
  for (auto& t : threads)
    t.join();
  int mismatches = 0;
  for (const auto& out : results) {
    CHECK(out.size() == kRounds);
    for (const auto& text : out)
      mismatches += text != expected;
  }
  CHECK(mismatches == 0);
  test::check_golden(expected, "filesystem");
}

TEST_CASE("filesystem destructor does not wait for a hung statfs",
          "[collector][filesystem][hang][concurrency]") {
  auto gate = std::make_shared<Gate>();
  auto settings = test::fixture_settings();
  settings.mount_timeout = 100ms;
  auto c = collectors::make_filesystem_collector(settings, hanging_stat(gate, "/mnt/fingerprints"));
  test::run_collector(*c);
  REQUIRE(gate->calls == 1);  // a worker is now blocked in the call
  auto start = Clock::now();
  c.reset();
  CHECK(Clock::now() - start < 3s);
  // The detached worker returns, exits, and frees the pool state (and with it the fake
  // holding the gate) without touching the destroyed collector.
  gate->release();
  CHECK(eventually([&] { return gate.use_count() == 1; }));
}

TEST_CASE("statfs pool replaces blocked workers and bounds stuck threads",
          "[statfs_pool][concurrency]") {
  auto gate = std::make_shared<Gate>();
  collectors::StatfsPoolOptions options;
  options.workers = 2;
  options.max_stuck = 3;
  using Status = collectors::StatOutcome::Status;
  {
    collectors::StatfsPool pool(
        [gate](const std::string& path) {
          if (path.rfind("hang", 0) == 0) gate->pass();
          return StatResult{0, 1, 1, 1, 1, 1, 1};
        },
        options);
    // Two hung calls in one batch occupy both workers; the rest is still answered.
    auto out = pool.stat_all({"hang1", "a", "hang2", "b", "c"}, Clock::now() + 300ms);
    REQUIRE(out.size() == 5);
    CHECK(out[0].status == Status::TimedOut);
    CHECK(out[1].status == Status::Answered);
    CHECK(out[2].status == Status::TimedOut);
    CHECK(out[3].status == Status::Answered);
    CHECK(out[4].status == Status::Answered);
    auto counts = pool.counts();
    CHECK(counts.stuck == 2);
    CHECK(counts.threads - counts.stuck >= 2);  // replacements

    // Stuck paths are not called again.
    out = pool.stat_all({"hang1", "hang2", "a"}, Clock::now() + 300ms);
    CHECK(out[0].status == Status::Stuck);
    CHECK(out[1].status == Status::Stuck);
    CHECK(out[2].status == Status::Answered);
    CHECK(gate->calls == 2);

    // At most workers + max_stuck = 5 threads: once all are stuck, nothing is tried.
    out = pool.stat_all({"hang3", "hang4", "hang5"}, Clock::now() + 300ms);
    CHECK(gate->calls == 5);
    CHECK(pool.counts().threads == 5);
    CHECK(pool.counts().stuck == 5);
    out = pool.stat_all({"a"}, Clock::now() + 300ms);
    CHECK(out[0].status == Status::NoWorker);

    // The hung calls return: the paths recover and surplus threads exit.
    gate->release();
    CHECK(eventually([&] { return pool.counts().stuck == 0; }));
    out = pool.stat_all({"hang1", "a"}, Clock::now() + 3s);
    CHECK(out[0].status == Status::Answered);
    CHECK(out[1].status == Status::Answered);
    CHECK(eventually([&] { return pool.counts().threads == 2; }));
  }
  CHECK(eventually([&] { return gate.use_count() == 1; }));
}

TEST_CASE("statfs pool honours a deadline already past", "[statfs_pool][concurrency]") {
  collectors::StatfsPool pool([](const std::string&) { return StatResult{}; });
  auto out = pool.stat_all({"a"}, Clock::now() - 1ms);
  CHECK(out[0].status == collectors::StatOutcome::Status::TimedOut);
  out = pool.stat_all({"a"}, Clock::now() + 3s);
  CHECK(out[0].status == collectors::StatOutcome::Status::Answered);
}
