#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "kubelite/storage/hostpath.h"
#include "kubelite/storage/util.h"

namespace kubelite::storage {
namespace {

namespace fs = std::filesystem;

struct Dir {
  fs::path path;
  Dir() {
    std::string pattern = (fs::temp_directory_path() / "storage-unit-XXXXXX").string();
    path = mkdtemp(pattern.data());
  }
  ~Dir() { fs::remove_all(path); }
};

void write(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(CopyTree, CopiesFilesDirectoriesLinksAndModesAndLaterWritesStayOut) {
  Dir d;
  fs::path src = d.path / "volumes" / "v1";
  std::string big(1 << 20, 'x');
  write(src / "a.bin", big);
  write(src / "sub" / "deeper" / "b.txt", "bee");
  fs::create_symlink("sub/deeper/b.txt", src / "link");
  chmod((src / "sub" / "deeper" / "b.txt").c_str(), 0640);
  CopyStats stats = copy_tree(src.string(), (d.path / "snapshots" / "s1").string());
  EXPECT_EQ(stats.files, 2u);
  EXPECT_EQ(stats.bytes, big.size() + 3);
  fs::path copy = d.path / "snapshots" / "s1";
  EXPECT_EQ(read(copy / "a.bin"), big);
  EXPECT_EQ(read(copy / "sub" / "deeper" / "b.txt"), "bee");
  EXPECT_EQ(fs::read_symlink(copy / "link"), "sub/deeper/b.txt");
  struct stat st {};
  ASSERT_EQ(stat((copy / "sub" / "deeper" / "b.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  // An in-place write to the source (what a hard link would have shown) does not reach the copy.
  {
    std::fstream f(src / "a.bin", std::ios::in | std::ios::out | std::ios::binary);
    f << "changed";
  }
  EXPECT_EQ(read(copy / "a.bin"), big);
  EXPECT_EQ(tree_bytes(copy.string()), big.size() + 3);
  // No partial directory is left beside it, and a second copy to the same place fails rather than merging.
  EXPECT_FALSE(fs::exists(d.path / "snapshots" / ".s1.partial"));
  EXPECT_THROW(copy_tree(src.string(), copy.string()), std::exception);
}

TEST(CopyTree, AMissingSourceFailsAndLeavesNothing) {
  Dir d;
  EXPECT_THROW(copy_tree((d.path / "nope").string(), (d.path / "to").string()), std::runtime_error);
  EXPECT_FALSE(fs::exists(d.path / "to"));
  EXPECT_FALSE(fs::exists(d.path / ".to.partial"));
}

TEST(Handles, OnlyNamesThatStayInsideTheRoot) {
  EXPECT_EQ(volume_dir("/r", "0b6c-11ef"), "/r/volumes/0b6c-11ef");
  EXPECT_EQ(snapshot_dir("/r", "snap.1"), "/r/snapshots/snap.1");
  for (const char* bad : {"", ".", "..", "../x", "a/b", "a b", "/abs"}) EXPECT_EQ(volume_dir("/r", bad), "") << bad;
}

TEST(Quantities, ParsedAndPrintedAsResourceQuantity) {
  EXPECT_EQ(quantity_bytes("1Gi"), 1073741824u);
  EXPECT_EQ(quantity_bytes("500Mi"), 524288000u);
  EXPECT_EQ(quantity_bytes("2G"), 2000000000u);
  EXPECT_EQ(quantity_bytes("1.5Ki"), 1536u);
  EXPECT_EQ(quantity_bytes("12"), 12u);
  EXPECT_EQ(quantity_bytes("lots"), 0u);
  EXPECT_EQ(binary_quantity(1073741824), "1Gi");
  EXPECT_EQ(binary_quantity(278528), "272Ki");
  EXPECT_EQ(binary_quantity(1536), "1536");
  EXPECT_EQ(binary_quantity(12), "12");
}

TEST(GoQuote, EscapesLikeGosPercentQ) {
  EXPECT_EQ(go_quote("persistentvolumeclaim \"x\" not found"), "\"persistentvolumeclaim \\\"x\\\" not found\"");
  EXPECT_EQ(go_quote(go_quote("a")), "\"\\\"a\\\"\"");
}

}  // namespace
}  // namespace kubelite::storage
