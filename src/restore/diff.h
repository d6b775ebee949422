#pragma once
// The readable difference a dry run shows between an object in the cluster and the one the restore would
// create: both normalised, printed as indented JSON with sorted keys, compared line by line.
#include <string>

#include <nlohmann/json.hpp>

namespace arca::restore {

// Unified diff (`--- <from_label>` / `+++ <to_label>`, @@ hunks with 3 lines of context); "" when equal.
std::string unified_diff(const std::string& from, const std::string& to, const std::string& from_label,
                         const std::string& to_label);

// Of two Secrets, the values under data and stringData are masked as kubectl diff masks them.
std::string unified_json_diff(const nlohmann::json& live, const nlohmann::json& desired);


}  // namespace arca::restore
