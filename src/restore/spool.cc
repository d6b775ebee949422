#include "restore/spool.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "restore/engine.h"

namespace arca::restore {

namespace fs = std::filesystem;

namespace {

void write_field(std::FILE* file, std::string_view field) {
  uint32_t size = static_cast<uint32_t>(field.size());
  if (std::fwrite(&size, sizeof size, 1, file) != 1 || std::fwrite(field.data(), 1, field.size(), file) != field.size())
    throw std::runtime_error("cannot write the restore spool: " + std::string(std::strerror(errno)));
}

bool read_field(std::FILE* file, std::string& field) {
  uint32_t size = 0;
  if (std::fread(&size, sizeof size, 1, file) != 1) return false;
  field.resize(size);
  return std::fread(field.data(), 1, size, file) == size;
}

}  // namespace

Spool::Spool(const std::string& parent) {
  std::string base = parent.empty() ? fs::temp_directory_path().string() : parent;
  // The process id in the name lets a restarted server remove this spool if the process is killed.
  std::string pattern = base + "/" + std::string(kSpoolPrefix) + std::to_string(::getpid()) + "-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("cannot create the restore spool under " + base + ": " + std::strerror(errno));
  dir_ = pattern;
}

Spool::~Spool() {
  for (auto& [resource, spool] : files_)
    if (spool.file != nullptr) std::fclose(spool.file);
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

long Spool::add(const std::string& resource, const SpooledItem& item) {
  auto& spool = files_[resource];
  if (spool.file == nullptr) {
    spool.path = dir_ + "/" + std::to_string(next_file_++);
    spool.file = std::fopen(spool.path.c_str(), "w+");
    if (spool.file == nullptr) throw std::runtime_error("cannot write the restore spool " + spool.path);
  }
  long offset = std::ftell(spool.file);
  write_field(spool.file, item.ns);
  write_field(spool.file, item.name);
  write_field(spool.file, item.json);
  ++spool.items;
  return offset;
}

void Spool::flush() {
  for (auto& [resource, spool] : files_)
    if (std::fflush(spool.file) != 0)
      throw std::runtime_error("cannot write the restore spool: " + std::string(std::strerror(errno)));
}

std::vector<std::string> Spool::resources() const {
  std::vector<std::string> names;
  for (const auto& [resource, spool] : files_) names.push_back(resource);
  return names;
}

size_t Spool::items(const std::string& resource) const {
  auto it = files_.find(resource);
  return it == files_.end() ? 0 : it->second.items;
}

size_t Spool::total_items() const {
  size_t total = 0;
  for (const auto& [resource, spool] : files_) total += spool.items;
  return total;
}

void Spool::replace(const std::string& resource, const std::string& from) {
  auto source = files_.find(from);
  if (source == files_.end()) return;
  File moved = source->second;
  files_.erase(source);
  erase(resource);
  files_[resource] = moved;
}

void Spool::erase(const std::string& resource) {
  auto it = files_.find(resource);
  if (it == files_.end()) return;
  std::fclose(it->second.file);
  std::remove(it->second.path.c_str());
  files_.erase(it);
}

void Spool::read(const std::string& resource, const std::function<void(SpooledItem&&)>& each) {
  auto it = files_.find(resource);
  if (it == files_.end()) return;
  std::FILE* file = it->second.file;
  std::fflush(file);
  std::rewind(file);
  for (;;) {
    SpooledItem item;
    item.offset = std::ftell(file);
    if (!read_field(file, item.ns) || !read_field(file, item.name) || !read_field(file, item.json)) break;
    each(std::move(item));
  }
}

SpooledItem Spool::read_at(const std::string& resource, long offset) const {
  auto it = files_.find(resource);
  if (it == files_.end()) throw std::runtime_error("the restore spool has no " + resource);
  const int fd = fileno(it->second.file);
  SpooledItem item;
  item.offset = offset;
  for (std::string* field : {&item.ns, &item.name, &item.json}) {
    uint32_t size = 0;
    if (pread(fd, &size, sizeof size, offset) != static_cast<ssize_t>(sizeof size))
      throw std::runtime_error("cannot read the restore spool " + it->second.path);
    field->resize(size);
    if (pread(fd, field->data(), size, offset + sizeof size) != static_cast<ssize_t>(size))
      throw std::runtime_error("cannot read the restore spool " + it->second.path);
    offset += sizeof size + size;
  }
  return item;
}

// resources/<dir>/[<version_dir>/]{cluster|namespaces/<ns>}/<name>.json; anything deeper is not an item.
bool parse_item_path(const std::string& path, std::string& resource, std::string& version_dir, SpooledItem& item) {
  static constexpr std::string_view kPrefix = "resources/";
  if (path.rfind(kPrefix, 0) != 0) return false;
  std::vector<std::string> parts;
  size_t start = kPrefix.size();
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  auto strip_json = [](const std::string& file, std::string& name) {
    if (file.size() <= 5 || file.compare(file.size() - 5, 5, ".json") != 0) return false;
    name = file.substr(0, file.size() - 5);
    return true;
  };
  resource = parts[0];
  version_dir.clear();
  if (parts.size() > 2 && parts[1] != "cluster" && parts[1] != "namespaces") {
    version_dir = parts[1];
    parts.erase(parts.begin() + 1);
  }
  if (parts.size() == 3 && parts[1] == "cluster") {
    item.ns.clear();
    return strip_json(parts[2], item.name);
  }
  if (parts.size() == 4 && parts[1] == "namespaces") {
    item.ns = parts[2];
    return strip_json(parts[3], item.name);
  }
  return false;
}

}  // namespace arca::restore
