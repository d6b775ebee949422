// libFuzzer target for what arca reads back from a bucket besides the tarball (built with
// -fsanitize=fuzzer,address by run_fuzz.sh): velero-backup.json as a velero.io/v1 Backup (the backup sync and
// restore read it), and the resource list and results files the CLI's describe prints. The first byte picks
// the reader. Any input must end in a value or a std::exception, never a crash, leak or out-of-bounds access.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "api/types.h"

namespace {

// How `backup describe --details` and `restore describe --details` walk a resource list: {"<kind>": [names]}.
void walk_resource_list(const nlohmann::json& list) {
  std::string out;
  for (const auto& [kind, entries] : list.items())
    for (const auto& entry : entries) out += kind + entry.get<std::string>();
}

// How `restore describe` walks results: {"errors"|"warnings": {"velero": [..], "cluster": [..],
// "namespaces": {ns: [..]}}}.
void walk_results(const nlohmann::json& results) {
  std::string out;
  for (const char* part : {"errors", "warnings"}) {
    if (!results.contains(part)) continue;
    const auto& r = results.at(part);
    for (const char* scope : {"velero", "cluster"})
      if (r.contains(scope))
        for (const auto& m : r.at(scope)) out += m.get<std::string>();
    if (r.contains("namespaces"))
      for (const auto& [ns, messages] : r.at("namespaces").items())
        for (const auto& m : messages) out += ns + m.get<std::string>();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    nlohmann::json doc = nlohmann::json::parse(text);
    switch (data[0] % 3) {
      case 0: {
        auto backup = doc.get<arca::api::Backup>();
        nlohmann::json again = backup;  // what the sync creates from it
        (void)again.dump();
        break;
      }
      case 1:
        walk_resource_list(doc);
        break;
      default:
        walk_results(doc);
    }
  } catch (const std::exception&) {
  }
  return 0;
}
