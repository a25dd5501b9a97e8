#include <chrono>
#include <string>

#include "collectors/host_sources.h"
#include "collectors/system_collectors.h"
#include "fixed_sources.h"
#include "golden.h"

using namespace afp;
using test::fixed_clock;
using test::fixed_uname;

namespace {

test::CollectResult collect_os(const test::TempTree& tree) {
  auto settings = test::fixture_settings();
  settings.rootfs = tree.root.string();
  auto c = collectors::make_os_collector(settings);
  return test::run_collector(*c);
}

}  // namespace

TEST_CASE("uname reports uname(2) as node_uname_info labels", "[collector][uname]") {
  auto c = collectors::make_uname_collector(fixed_uname);
  test::check_golden(test::run_collector(*c).text, "uname");
}

TEST_CASE("uname on this host names its sysname and nodename", "[collector][uname]") {
  auto c = collectors::make_uname_collector(test::fixture_settings());
  auto text = test::run_collector(*c).text;
  CHECK(text.find("sysname=\"Linux\"") != std::string::npos);
  CHECK(text.find("nodename=\"" + collectors::system_uname().nodename + "\"") != std::string::npos);
}

TEST_CASE("time reports the clock and the zone offset", "[collector][time]") {
  auto c = collectors::make_time_collector(fixed_clock);
  test::check_golden(test::run_collector(*c).text, "time");
}

TEST_CASE("time on this host is now", "[collector][time]") {
  auto c = collectors::make_time_collector(test::fixture_settings());
  auto text = test::run_collector(*c).text;
  auto pos = text.find("\nnode_time_seconds ");
  REQUIRE(pos != std::string::npos);
  double reported = std::stod(text.substr(pos + 19));
  double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(std::abs(now - reported) < 5);
  CHECK(text.find("node_time_zone_offset_seconds{time_zone=\"") != std::string::npos);
}

TEST_CASE("os reports os-release as node_os_info and node_os_version", "[collector][os]") {
  auto c = collectors::make_os_collector(test::fixture_settings());
  auto r = test::run_collector(*c);
  CHECK(r.malformed == 0);
  test::check_golden(r.text, "os");
}

TEST_CASE("os falls back to usr/lib/os-release and fails without either", "[collector][os]") {
  test::TempTree tree("os");
  CHECK_THROWS_WITH(collect_os(tree),
                    Catch::Contains("etc/os-release") && Catch::Contains("usr/lib/os-release"));
  tree.write("usr/lib/os-release", "ID=ubuntu\nVERSION_ID=\"22.04\"\nNAME=Ubuntu\n");
  auto r = collect_os(tree);
  CHECK(r.text.find("node_os_version{id=\"ubuntu\",id_like=\"\",name=\"Ubuntu\"} 22.04\n") !=
        std::string::npos);
  tree.write("etc/os-release", "ID=debian\n");
  r = collect_os(tree);
  CHECK(r.text.find("id=\"debian\"") != std::string::npos);
  CHECK(r.text.find("ubuntu") == std::string::npos);
  CHECK(r.text.find("node_os_version") == std::string::npos);  // no VERSION_ID
}

TEST_CASE("os parses shell quoting and skips malformed lines", "[collector][os]") {
  test::TempTree tree("os_quoting");
  tree.write("etc/os-release",
             "# a comment\n"
             "\n"
             "NAME=\"Fancy \\\"Linux\\\" \\\\ \\$HOME\"\n"
             "ID='fancy'\n"
             "VERSION_ID=2024.10.3\n"
             "PRETTY_NAME=\"unterminated\n"   // malformed
             "VARIANT=two words\n"            // unquoted space: malformed
             "lower=case\n"                   // not a key: malformed
             "IMAGE_ID=\"\xff\xfe\"\n"        // not UTF-8: malformed
             "ID_LIKE=\"debian\" trailing\n"  // text after the quote: malformed
             "BUILD_ID=\n"                    // empty is fine
             "HOME_URL=\"https://example.org/\"\n"
             "ID='later'");  // later lines win
  auto r = collect_os(tree);
  CHECK(r.malformed == 5);
  CHECK(r.text.find("name=\"Fancy \\\"Linux\\\" \\\\ $HOME\"") != std::string::npos);
  CHECK(r.text.find(",id=\"later\",") != std::string::npos);
  CHECK(r.text.find("pretty_name=\"\"") != std::string::npos);
  CHECK(r.text.find("node_os_version{id=\"later\",id_like=\"\",name=") != std::string::npos);
  CHECK(r.text.find("} 2024.1\n") != std::string::npos);  // major.minor of 2024.10.3
}

TEST_CASE("os version is the major.minor part of VERSION_ID", "[collector][os]") {
  struct Case {
    const char* version_id;
    const char* sample;  // nullptr: no node_os_version
  };
  for (auto [id, sample] : {Case{"12", "} 12\n"}, Case{"22.04.3", "} 22.04\n"}, Case{"7.", "} 7\n"},
                            Case{"rolling", nullptr}, Case{"0", nullptr}, Case{"", nullptr}}) {
    INFO(id);
    test::TempTree tree("os_version");
    tree.write("etc/os-release", std::string("ID=x\nVERSION_ID=") + id + "\n");
    auto text = collect_os(tree).text;
    if (sample) {
      CHECK(text.find(std::string("node_os_version{id=\"x\",id_like=\"\",name=\"\"") + sample) !=
            std::string::npos);
    } else {
      CHECK(text.find("node_os_version") == std::string::npos);
    }
  }
}
