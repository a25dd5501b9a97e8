#pragma once

// The statsd / DogStatsD line format of README "statsd / DogStatsD over UDP":
//
//   afp.<wire name>:<value>|<type>[|@<rate>][|#<tag>:<value>,...][|c:<container>][|T<unix>]
//
// Names: "afp." + a wire name of the README (afp.db_query); anything else is UnknownMetric.
// Types: histograms (fingerprint_generation, api_request, db_query) take `ms` (milliseconds,
//   converted to seconds) and the DogStatsD `h` / `d` (histogram / distribution), whose value
//   is taken as seconds already; counters take `c`. Any other pairing, gauges `g`, sets `s`
//   and unknown types are UnsupportedType.
// Value: a finite decimal number >= 0 ("41", "0.5", "1e3", a leading "+"); for
//   identification and fingerprint_hashes a whole number up to 2^53, as over HTTP. Anything
//   else in the value field (empty, negative, fractional count, "nan", "inf", "1e999",
//   "0x10", spaces) is InvalidValue. Packed DogStatsD values ("1:2:3|d") are not supported
//   (InvalidValue).
// Sample rate "@r", 0 < r <= 1: the observation stands for round(1/r) events (weight), as
//   in statsd_exporter; a bad rate (0, > 1, unparsable, weight beyond uint32) is Malformed.
// Tags "#k:v,k2:v2": the values of the metric's labels (label_schema). Tags the metric does
//   not take are ignored, because clients add global tags (env:prod, host:...) to every
//   line; so are bare tags without ':'. A required label that is missing or empty is
//   MissingLabel (Prometheus treats an empty label value as an absent label). A label given
//   twice, or a value that is not UTF-8, is Malformed. Closed sets, length and cardinality
//   are the Store's checks.
// DogStatsD extensions after the type: container id "|c:...", external data "|e:..." and
//   timestamp "|T<digits>" are accepted and ignored (the exporter counts events when they
//   arrive). Any other section, an empty one ("||"), a repeated rate or tag section, a
//   missing ':' or '|', a control byte (NUL, tab, ...) or a line over kMaxStatsdLine
//   bytes is Malformed.
// A line is checked in this order, the first fault deciding the reason: shape and
// sections, name, type, value, rate, tags.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "pipeline/observation.h"
#include "pipeline/store.h"

namespace afp::pipeline {

inline constexpr std::size_t kMaxStatsdLine = 8192;

// Parses one line (no line terminator). On success fills `out`, whose label values point
// into `line`; on refusal returns the reason and `out` is unspecified.
std::optional<Reject> parse_statsd_line(std::string_view line, Observation& out);

// Refused lines (and datagrams) per reason, indexed by static_cast<std::size_t>(Reject).
using RejectCounts = std::array<std::uint64_t, kRejectCount>;

// Splits a datagram into lines ('\n', "\r\n" tolerated, empty lines skipped), appends every
// parsed observation to `out` and counts refused lines in `rejected`. Returns the number of
// observations appended. Allocates only when `out` grows beyond its capacity.
std::size_t parse_statsd_datagram(std::string_view datagram, std::vector<Observation>& out,
                                  RejectCounts& rejected);

}  // namespace afp::pipeline
