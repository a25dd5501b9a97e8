#pragma once

#include <string>
#include <utility>

#include "app/exporter_app.h"

namespace afp::test {

// The exporter in this process on a free loopback port, stopped when the test ends.
struct RunningApp {
  log::Logger log{log::Level::error};
  app::ExporterApp app;
  std::string base;
  explicit RunningApp(config::Options o) : app(std::move(o), {}, log) {
    app.start();
    base = "http://127.0.0.1:" + std::to_string(app.ports().at(0));
  }
  ~RunningApp() { app.stop(); }
};

}  // namespace afp::test
