#include "cli/flags.h"

#include <stdexcept>

#include "config/options.h"

namespace afp::cli {

bool FlagReader::next() {
  if (i_ >= args_.size()) return false;
  std::string_view arg = args_[i_++];
  if (arg == "-h") arg = "--h";
  if (arg.substr(0, 2) != "--") {
    throw std::invalid_argument("unexpected argument \"" + std::string(arg) + "\"");
  }
  auto eq = arg.find('=');
  name_ = std::string(arg.substr(2, eq == std::string_view::npos ? eq : eq - 2));
  inline_value_.reset();
  if (eq != std::string_view::npos) inline_value_ = std::string(arg.substr(eq + 1));
  return true;
}

void FlagReader::no_value() const {
  if (inline_value_) throw std::invalid_argument("flag --" + name_ + " takes no value");
}

std::string FlagReader::value() {
  std::string value;
  if (inline_value_) {
    value = *inline_value_;
  } else if (i_ < args_.size()) {
    value = args_[i_++];
  }
  if (value.empty()) throw std::invalid_argument("flag --" + name_ + " needs a value");
  return value;
}

std::chrono::milliseconds FlagReader::duration() {
  auto text = value();
  auto d = config::parse_duration(text);
  if (!d || d->count() <= 0) {
    throw std::invalid_argument("flag --" + name_ + ": not a duration: \"" + text +
                                "\" (e.g. 500ms, 30s, 1h)");
  }
  return *d;
}

void FlagReader::unknown() const {
  throw std::invalid_argument("unknown flag --" + name_ + " (see afp_exporter " + command_ +
                              " --help)");
}

}  // namespace afp::cli
