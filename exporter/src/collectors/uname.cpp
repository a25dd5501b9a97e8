// uname: node_uname_info{domainname,machine,nodename,release,sysname,version} from
// uname(2), the labels node-mixin's and Grafana's instance pickers read.
#include <sys/utsname.h>

#include <cerrno>
#include <cstring>

#include "collectors/host_sources.h"
#include "collectors/system_collectors.h"
#include "core/utf8.h"

namespace afp::collectors {

namespace {

class UnameCollector final : public Collector {
 public:
  explicit UnameCollector(std::function<UnameFields()> source) : source_(std::move(source)) {}

  void collect(ScrapeContext& ctx) override {
    auto u = source_();
    for (const auto* field :
         {&u.sysname, &u.release, &u.version, &u.machine, &u.nodename, &u.domainname}) {
      if (!core::valid_utf8(*field)) throw CollectError("uname field is not UTF-8: " + *field);
    }
    ctx.out.family("node_uname_info",
                   "Labeled system information as provided by the uname system call.",
                   metrics::MetricType::Gauge);
    ctx.out.sample({{"domainname", u.domainname},
                    {"machine", u.machine},
                    {"nodename", u.nodename},
                    {"release", u.release},
                    {"sysname", u.sysname},
                    {"version", u.version}},
                   1);
  }

 private:
  std::function<UnameFields()> source_;
};

}  // namespace

UnameFields system_uname() {
  utsname u{};
  if (::uname(&u) != 0) throw CollectError(std::string("uname: ") + std::strerror(errno));
  return {u.sysname, u.release, u.version, u.machine, u.nodename, u.domainname};
}

std::unique_ptr<Collector> make_uname_collector(std::function<UnameFields()> source) {
  return std::make_unique<UnameCollector>(std::move(source));
}

std::unique_ptr<Collector> make_uname_collector(const CollectorSettings&) {
  return make_uname_collector(system_uname);
}

}  // namespace afp::collectors
