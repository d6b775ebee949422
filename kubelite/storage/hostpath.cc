#include "kubelite/storage/hostpath.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace kubelite::storage {

namespace fs = std::filesystem;

bool valid_handle(const std::string& handle) {
  if (handle.empty() || handle.size() > 128 || handle == "." || handle == "..") return false;
  for (char c : handle)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

std::string volume_dir(const std::string& root, const std::string& volume_handle) {
  return valid_handle(volume_handle) ? root + "/volumes/" + volume_handle : "";
}

std::string snapshot_dir(const std::string& root, const std::string& snapshot_handle) {
  return valid_handle(snapshot_handle) ? root + "/snapshots/" + snapshot_handle : "";
}

namespace {

[[noreturn]] void fail(const std::string& what, const fs::path& path) {
  throw std::runtime_error(what + " " + path.string() + ": " + std::strerror(errno));
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

void copy_file(const fs::path& from, const fs::path& to, mode_t mode, CopyStats& stats) {
  Fd in{open(from.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) fail("cannot open", from);
  Fd out{open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777)};
  if (out.fd < 0) fail("cannot create", to);
  struct stat st {};
  if (fstat(in.fd, &st) != 0) fail("cannot stat", from);
  ++stats.files;
  stats.bytes += static_cast<uint64_t>(st.st_size);
  if (ioctl(out.fd, FICLONE, in.fd) == 0) {
    ++stats.reflinked;
    return;
  }
  // No reflinks here (ext4, tmpfs, or another file system): copy in the kernel.
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = copy_file_range(in.fd, nullptr, out.fd, nullptr, static_cast<size_t>(left), 0);
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) break;
    if (n < 0) fail("cannot copy to", to);
    if (n == 0) break;  // the source shrank meanwhile
    left -= n;
  }
  if (left > 0) {
    // copy_file_range refused: read and write.
    char buffer[1 << 16];
    for (;;) {
      ssize_t n = read(in.fd, buffer, sizeof buffer);
      if (n < 0) fail("cannot read", from);
      if (n == 0) break;
      for (ssize_t done = 0; done < n;) {
        ssize_t w = write(out.fd, buffer + done, static_cast<size_t>(n - done));
        if (w < 0) fail("cannot write", to);
        done += w;
      }
    }
  }
}

void copy_into(const fs::path& from, const fs::path& to, CopyStats& stats) {
  struct stat st {};
  if (lstat(from.c_str(), &st) != 0) fail("cannot stat", from);
  if (S_ISDIR(st.st_mode)) {
    if (mkdir(to.c_str(), st.st_mode & 07777) != 0) fail("cannot create", to);
    for (const auto& entry : fs::directory_iterator(from)) copy_into(entry.path(), to / entry.path().filename(), stats);
    chmod(to.c_str(), st.st_mode & 07777);
  } else if (S_ISREG(st.st_mode)) {
    copy_file(from, to, st.st_mode, stats);
  } else if (S_ISLNK(st.st_mode)) {
    fs::copy_symlink(from, to);
  }
  // Sockets, FIFOs and devices are not volume data: skipped.
}

}  // namespace

CopyStats copy_tree(const std::string& from, const std::string& to) {
  CopyStats stats;
  fs::path target(to);
  fs::create_directories(target.parent_path());
  fs::path partial = target.parent_path() / ("." + target.filename().string() + ".partial");
  remove_tree(partial.string());
  try {
    copy_into(from, partial, stats);
  } catch (const std::exception&) {
    remove_tree(partial.string());
    throw;
  }
  if (rename(partial.c_str(), target.c_str()) != 0) fail("cannot rename into", target);
  return stats;
}

uint64_t tree_bytes(const std::string& path) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) total += it->file_size(ec);
  return total;
}

void remove_tree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory)
    throw std::runtime_error("cannot remove " + path + ": " + ec.message());
}

}  // namespace kubelite::storage
