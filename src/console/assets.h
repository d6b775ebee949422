#pragma once
// The front end (src/console/web/), compiled in by embed_assets.cmake: running arca needs no files beside it.
#include <cstddef>
#include <string_view>

namespace arca::console {

struct Asset {
  std::string_view path;  // "/index.html", "/app.js", ...
  std::string_view content_type;
  std::string_view body;
};

// nullptr when there is no such asset.
const Asset* find_asset(std::string_view path);

}  // namespace arca::console
