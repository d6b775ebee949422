// Writes a sample backup tarball and a manifest of what it should contain (a JSON array of [path, content]),
// for the independent Python reader test and as the fuzzer's seed corpus; with --read, prints what arca's
// reader finds in a tarball (the same manifest form), so Python can hand it tarballs of its own making.
// Usage: tarball_sample OUT.tar.gz MANIFEST.json | tarball_sample --read IN.tar.gz
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "archive/tarball_reader.h"
#include "archive/tarball_writer.h"

namespace {

int read_tarball(const char* path) {
  std::ifstream in(path, std::ios::binary);
  arca::archive::TarballReader reader([&](char* buffer, size_t capacity) {
    in.read(buffer, static_cast<std::streamsize>(capacity));
    return static_cast<size_t>(in.gcount());
  });
  nlohmann::json manifest = nlohmann::json::array();
  try {
    while (auto entry = reader.next()) manifest.push_back({entry->path, reader.read_content(), entry->mode});
  } catch (const arca::archive::ArchiveError& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  std::cout << manifest.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace arca::archive;
  if (argc == 3 && std::string(argv[1]) == "--read") return read_tarball(argv[2]);
  if (argc != 3) {
    std::cerr << "usage: tarball_sample OUT.tar.gz MANIFEST.json\n";
    return 2;
  }
  std::ofstream out(argv[1], std::ios::binary);
  nlohmann::json manifest = nlohmann::json::array({{std::string(kVersionPath), "1.1.0\n"}});
  // Small blocks on two threads, so the file is many concatenated gzip members.
  TarballWriter writer([&](const char* d, size_t n) { out.write(d, static_cast<std::streamsize>(n)); },
                       {{6, 2, 64 << 10}, 0});
  auto add = [&](const ItemLocation& item, const std::string& version, bool preferred, const std::string& json) {
    writer.add_item(item, version, preferred, json);
    if (preferred) {
      manifest.push_back({item_path(item), json});
      manifest.push_back({item_path(item, preferred_version_dir(version)), json});
    } else {
      manifest.push_back({item_path(item, version), json});
    }
  };
  add({"namespaces", "", "shop"}, "v1", true, R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}})");
  for (int i = 0; i < 400; ++i) {
    std::string name = "cm-" + std::to_string(i);
    nlohmann::json cm = {{"apiVersion", "v1"},
                         {"kind", "ConfigMap"},
                         {"metadata", {{"name", name}, {"namespace", "shop"}, {"uid", std::to_string(i * 7919)}}},
                         {"data", {{"payload", std::string(static_cast<size_t>(i * 37 % 2000), 'a' + i % 26)}}}};
    add({"configmaps", "shop", name}, "v1", true, cm.dump());
  }
  add({"deployments.apps", "shop", "web"}, "v1", true, R"({"apiVersion":"apps/v1","kind":"Deployment"})");
  add({"horizontalpodautoscalers.autoscaling", "shop", "web"}, "v2", false, R"({"apiVersion":"autoscaling/v2"})");
  add({"customresourcedefinitions.apiextensions.k8s.io", "", "backups.velero.io"}, "v1", true, R"({"kind":"CRD"})");
  add({"configmaps", "shop", std::string(180, 'l')}, "v1", true, "{}");
  writer.finish();
  std::ofstream(argv[2]) << manifest.dump();
  return out ? 0 : 1;
}
