#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace afp::metrics {

// Exposition text kept as the data it is rendered from, and rendered only when it is
// sent: a scrape then sends the first pieces while it renders the next, and a collection
// shared by every scrape holds its compact data instead of megabytes of text.
class DeferredText {
 public:
  // Takes one piece of the text; the piece is valid only during the call.
  using Emit = std::function<void(std::string_view piece)>;
  // About the size of the pieces render() emits.
  static constexpr std::size_t kPieceBytes = 64 * 1024;

  virtual ~DeferredText() = default;
  // Writes the whole text to `emit`, in pieces of about kPieceBytes. Rendering valid data
  // cannot fail: what it throws is emit's (or std::bad_alloc). Safe from several threads.
  virtual void render(const Emit& emit) const = 0;
};

// The whole text of `deferred` appended to `out`.
inline void append_rendered(const DeferredText& deferred, std::string& out) {
  deferred.render([&out](std::string_view piece) { out += piece; });
}

}  // namespace afp::metrics
