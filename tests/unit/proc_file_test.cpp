#include "collectors/proc_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "collectors/collector.h"
#include "golden.h"

using namespace afp::collectors;

TEST_CASE("ProcFile reads a file larger than its first buffer, again and again", "[proc_file]") {
  std::string path = "/tmp/afp_proc_file_test_" + std::to_string(getpid());
  std::string content;
  for (int i = 0; i < 5000; ++i)
    content += "line " + std::to_string(i) + "\n";
  std::ofstream(path) << content;
  for (auto kind : {ProcFile::Kind::single_shot, ProcFile::Kind::iterated}) {
    ProcFile f(path, kind);
    std::string out;
    f.read(out);
    CHECK(out == content);
    std::ofstream(path, std::ios::trunc) << "short\n";  // same inode, new content
    f.read(out);
    CHECK(out == "short\n");
    std::ofstream(path, std::ios::trunc) << content;
  }
  unlink(path.c_str());
}

TEST_CASE("ProcFile re-reads iterated /proc files whole", "[proc_file]") {
  // mountinfo is an iterated seq file: the kernel hands it out a page of records at a time.
  ProcFile f("/proc/self/mountinfo", ProcFile::Kind::iterated);
  std::string first;
  f.read(first);
  CHECK(first == read_file("/proc/self/mountinfo"));
  std::string second;
  f.read(second);
  CHECK(second == first);
}

TEST_CASE("ProcFile: concurrent readers of one fd each get the whole file",
          "[proc_file][concurrency]") {
  ProcFile f(afp::test::fixture("default/proc/stat"), ProcFile::Kind::single_shot);
  std::string expected = read_file(afp::test::fixture("default/proc/stat"));
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::string out;
      for (int i = 0; i < 500; ++i) {
        f.read(out);
        if (out != expected) ++mismatches;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  CHECK(mismatches == 0);
}

TEST_CASE("ProcFile: a missing file is a CollectError naming it, and try_read says false",
          "[proc_file][concurrency]") {
  ProcFile f("/nonexistent/afp/file", ProcFile::Kind::single_shot);
  std::string out;
  CHECK_THROWS_WITH(f.read(out), Catch::Contains("/nonexistent/afp/file"));
  CHECK_FALSE(f.try_read(out));
  ProcFileSet set(ProcFile::Kind::single_shot);
  CHECK_FALSE(set.try_read("/nonexistent/afp/operstate", out));
  CHECK(set.try_read(afp::test::fixture("default/sys/class/net/eth0/operstate"), out));
  CHECK(out == "up\n");
}
