#include "store/parts.h"

#include <future>

namespace arca::store {

size_t fill(const Reader& body, std::string& buffer) {
  size_t used = 0;
  while (used < buffer.size()) {
    size_t n = body(buffer.data() + used, buffer.size() - used);
    if (n == 0) break;
    used += n;
  }
  return used;
}

std::vector<std::string> upload_parts(const Reader& body, std::string& first,
                                      const std::function<std::string(int, std::string_view)>& upload) {
  std::string spare(first.size(), '\0');
  std::string* buffers[2] = {&first, &spare};
  std::vector<std::string> results;
  std::future<std::string> in_flight;  // the previous part's upload
  size_t n = first.size();
  for (int part = 1, current = 0;; ++part, current = 1 - current) {
    std::string_view data(buffers[current]->data(), n);
    auto next = std::async(std::launch::async, [&upload, part, data] { return upload(part, data); });
    if (in_flight.valid()) results.push_back(in_flight.get());  // its buffer is free again after this
    in_flight = std::move(next);
    if (n < first.size()) break;
    n = fill(body, *buffers[1 - current]);
    if (n == 0) break;
  }
  results.push_back(in_flight.get());
  return results;
}

}  // namespace arca::store
