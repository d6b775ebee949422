#include "restore/results.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "util/timestamp.h"

namespace arca::restore {

void Result::add(const std::string& ns, const std::string& message) {
  if (ns.empty())
    cluster.push_back(message);
  else
    namespaces[ns].push_back(message);
}

size_t Result::count() const {
  size_t total = velero.size() + cluster.size();
  for (const auto& [ns, messages] : namespaces) total += messages.size();
  return total;
}

namespace {
nlohmann::json result_to_json(const Result& result) {
  nlohmann::json j = nlohmann::json::object();
  if (!result.velero.empty()) j["velero"] = result.velero;
  if (!result.cluster.empty()) j["cluster"] = result.cluster;
  if (!result.namespaces.empty()) j["namespaces"] = result.namespaces;
  return j;
}
}  // namespace

std::string results_json(const Result& errors, const Result& warnings) {
  nlohmann::json j = {{"errors", result_to_json(errors)}, {"warnings", result_to_json(warnings)}};
  return j.dump() + "\n";
}

void ResourceList::record(const std::string& api_version_kind, const std::string& ns, const std::string& name,
                          ItemAction action) {
  static const char* const kNames[] = {"created", "updated", "failed", "skipped"};
  std::string entry = ns.empty() ? name : ns + "/" + name;
  entry += "(";
  entry += kNames[static_cast<int>(action)];
  entry += ")";
  std::lock_guard lock(mutex_);
  entries_[api_version_kind].push_back(std::move(entry));
  ++size_;
}

size_t ResourceList::size() const {
  std::lock_guard lock(mutex_);
  return size_;
}

std::string ResourceList::json() const {
  std::lock_guard lock(mutex_);
  // Written out directly, names sorted through pointers: a sorted copy of every name plus a JSON tree of them held
  // the names three times over at the end of a 300k-item restore.
  auto quoted = [](const std::string& text) { return nlohmann::json(text).dump(); };
  std::string out = "{";
  for (const auto& [kind, entries] : entries_) {
    std::vector<const std::string*> sorted;
    sorted.reserve(entries.size());
    for (const auto& entry : entries) sorted.push_back(&entry);
    std::sort(sorted.begin(), sorted.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
    if (out.size() > 1) out += ',';
    out += quoted(kind) + ":[";
    for (size_t i = 0; i < sorted.size(); ++i) {
      if (i > 0) out += ',';
      out += quoted(*sorted[i]);
    }
    out += ']';
  }
  return out + "}";
}

RestoreLog::RestoreLog(const std::string& path, std::string restore_key)
    : path_(path), restore_key_(std::move(restore_key)), file_(std::fopen(path.c_str(), "w+")) {
  if (file_ == nullptr) throw std::runtime_error("cannot write the restore log " + path);
}

RestoreLog::~RestoreLog() { std::fclose(file_); }

void RestoreLog::info(const std::string& message) { write("info", message); }
void RestoreLog::warning(const std::string& message) { write("warning", message); }
void RestoreLog::error(const std::string& message) { write("error", message); }

void RestoreLog::write(const char* level, const std::string& message) {
  std::string line = "time=\"" + format_rfc3339(now_seconds()) + "\" level=" + level + " msg=" +
                     nlohmann::json(message).dump() + " restore=" + restore_key_ + "\n";
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), file_);
}

std::string RestoreLog::text() const {
  std::lock_guard lock(mutex_);
  std::fflush(file_);
  std::ifstream in(path_, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace arca::restore
