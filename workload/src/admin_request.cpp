#include "admin_request.h"

#include <string>

#include "core/ascii.h"

namespace afp::workload {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decoded(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] != '%') {
      out += text[i];
    } else {
      int high = i + 2 < text.size() ? hex_digit(text[i + 1]) : -1;
      int low = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
      if (high < 0 || low < 0) {
        throw FaultSpecError("bad %-escape in \"" + std::string(text) + "\"");
      }
      out += static_cast<char>(high * 16 + low);
      i += 2;
    }
  }
  return out;
}

}  // namespace

std::vector<FaultSpec> fault_specs_of_request(std::string_view query, std::string_view body,
                                              unsigned hardware_threads) {
  std::vector<FaultSpec> specs;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (!item.empty()) specs.push_back(parse_fault_spec(percent_decoded(item), hardware_threads));
  }
  while (!body.empty()) {
    auto newline = body.find('\n');
    auto line = core::trim_space(body.substr(0, newline));
    body = newline == std::string_view::npos ? std::string_view() : body.substr(newline + 1);
    if (!line.empty() && line.front() != '#')
      specs.push_back(parse_fault_spec(line, hardware_threads));
  }
  if (specs.empty()) {
    throw FaultSpecError("no fault given: expected NAME[=VALUE] or clear[=NAME] (" + fault_names() +
                         ")");
  }
  return specs;
}

}  // namespace afp::workload
