#pragma once
// Streaming a body in parts (S3 multipart upload, Azure block upload). Internal to store/.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "store/object_store.h"

namespace arca::store {

// Fills `buffer` from `body` as far as it goes; returns the bytes read (short only at the end of the data).
size_t fill(const Reader& body, std::string& buffer);

// Uploads `body` part by part: `first` holds the first part, already read and full. Each part goes to
// `upload(part_number, data)` (numbers from 1) on a helper thread while the next part is read, so a slow
// producer and a slow network overlap; memory stays at two parts. Returns upload's results in part order.
// On failure, waits for the part in flight before rethrowing.
std::vector<std::string> upload_parts(const Reader& body, std::string& first,
                                      const std::function<std::string(int, std::string_view)>& upload);

}  // namespace arca::store
