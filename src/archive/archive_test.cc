#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <map>
#include <random>
#include <span>

#include "archive/paths.h"
#include "archive/tarball_reader.h"
#include "archive/tarball_writer.h"

namespace arca::archive {
namespace {

ByteSource from_string(std::string data) {
  auto offset = std::make_shared<size_t>(0);
  auto bytes = std::make_shared<std::string>(std::move(data));
  return [bytes, offset](char* buffer, size_t capacity) {
    size_t n = std::min(capacity, bytes->size() - *offset);
    std::memcpy(buffer, bytes->data() + *offset, n);
    *offset += n;
    return n;
  };
}

struct ReadEntry {
  std::string path;
  uint32_t mode;
  std::string content;
};

std::vector<ReadEntry> read_all(const std::string& tarball, ReaderLimits limits = {}) {
  TarballReader reader(from_string(tarball), limits);
  std::vector<ReadEntry> out;
  while (auto e = reader.next()) out.push_back({e->path, e->mode, reader.read_content()});
  return out;
}

std::string write_tarball(const std::function<void(TarballWriter&)>& fill, GzipOptions gzip = {}) {
  std::string out;
  TarballWriter writer([&](const char* d, size_t n) { out.append(d, n); }, {gzip, 1700000000, {}});
  fill(writer);
  writer.finish();
  return out;
}

TEST(Paths, VeleroLayout) {
  EXPECT_EQ(resource_dir("pods", ""), "pods");
  EXPECT_EQ(resource_dir("deployments", "apps"), "deployments.apps");
  ItemLocation pod{"pods", "default", "web-0"};
  EXPECT_EQ(item_path(pod), "resources/pods/namespaces/default/web-0.json");
  EXPECT_EQ(item_path(pod, preferred_version_dir("v1")),
            "resources/pods/v1-preferredversion/namespaces/default/web-0.json");
  ItemLocation crd{resource_dir("customresourcedefinitions", "apiextensions.k8s.io"), "", "backups.velero.io"};
  EXPECT_EQ(item_path(crd), "resources/customresourcedefinitions.apiextensions.k8s.io/cluster/backups.velero.io.json");
}

TEST(Tarball, RoundTripKeepsVeleroOrderModesAndContent) {
  std::string long_name(120, 'n');  // forces the USTAR prefix split
  std::string very_long(300, 'v');  // forces a PAX path record
  std::string tarball = write_tarball([&](TarballWriter& w) {
    w.add_item({"namespaces", "", "default"}, "v1", true, R"({"apiVersion":"v1","kind":"Namespace"})");
    w.add_item({"deployments.apps", "default", "web"}, "v1", true, R"({"kind":"Deployment"})");
    w.add_item({"horizontalpodautoscalers.autoscaling", "default", "h"}, "v1", false, R"({"kind":"HPA"})");
    w.add_item({"configmaps", "default", long_name}, "v1", true, "{}");
    w.add_item({"configmaps", "default", very_long}, "v1", true, "{}");
    w.add_item({"configmaps", "ünï", "日本"}, "v1", true, "{\"x\":1}");
  });
  auto entries = read_all(tarball);
  std::vector<std::string> paths;
  for (const auto& e : entries) {
    paths.push_back(e.path);
    EXPECT_EQ(e.mode, 0755u) << e.path;
  }
  std::vector<std::string> expected = {
      "metadata/version",
      "resources/namespaces/cluster/default.json",
      "resources/namespaces/v1-preferredversion/cluster/default.json",
      "resources/deployments.apps/namespaces/default/web.json",
      "resources/deployments.apps/v1-preferredversion/namespaces/default/web.json",
      "resources/horizontalpodautoscalers.autoscaling/v1/namespaces/default/h.json",
      "resources/configmaps/namespaces/default/" + long_name + ".json",
      "resources/configmaps/v1-preferredversion/namespaces/default/" + long_name + ".json",
      "resources/configmaps/namespaces/default/" + very_long + ".json",
      "resources/configmaps/v1-preferredversion/namespaces/default/" + very_long + ".json",
      "resources/configmaps/namespaces/ünï/日本.json",
      "resources/configmaps/v1-preferredversion/namespaces/ünï/日本.json",
  };
  EXPECT_EQ(paths, expected);
  EXPECT_EQ(entries[0].content, "1.1.0\n");
  EXPECT_EQ(entries[3].content, R"({"kind":"Deployment"})");
  EXPECT_EQ(entries[11].content, "{\"x\":1}");
}

TEST(Tarball, ParallelBlocksRoundTripByteForByte) {
  // Many small blocks on several threads: the members must come out in input order.
  std::mt19937 rng(1);
  std::vector<std::string> contents;
  for (int i = 0; i < 3000; ++i) {
    std::string c = "{\"metadata\":{\"name\":\"item-" + std::to_string(i) + "\"},\"data\":\"";
    c.append(rng() % 3000, static_cast<char>('a' + i % 26));
    contents.push_back(c + "\"}");
  }
  std::string tarball = write_tarball(
      [&](TarballWriter& w) {
        for (size_t i = 0; i < contents.size(); ++i)
          w.add_item({"configmaps", "ns", "cm-" + std::to_string(i)}, "v1", false, contents[i]);
      },
      {6, 3, 64 << 10});
  auto entries = read_all(tarball);
  ASSERT_EQ(entries.size(), contents.size() + 1);
  for (size_t i = 0; i < contents.size(); ++i) {
    ASSERT_EQ(entries[i + 1].path, "resources/configmaps/v1/namespaces/ns/cm-" + std::to_string(i) + ".json");
    ASSERT_EQ(entries[i + 1].content, contents[i]);
  }
}

// The observer (a signed backup's per-item digests) sees every entry the reader finds, with its content, and an
// item and its preferred-version copy in a single call.
TEST(Tarball, ContentObserverSeesEveryEntryAndEachItemOnce) {
  std::vector<std::vector<std::string>> calls;
  std::map<std::string, std::string> observed;
  TarballOptions options{{}, 1700000000, {}};
  options.on_content = [&](std::span<const std::string_view> paths, std::string_view content) {
    calls.emplace_back(paths.begin(), paths.end());
    for (auto p : paths) observed[std::string(p)] = content;
  };
  std::string tarball;
  TarballWriter w([&](const char* d, size_t n) { tarball.append(d, n); }, options);
  w.add_item({"deployments.apps", "default", "web"}, "v1", true, R"({"kind":"Deployment"})");
  w.add_item({"horizontalpodautoscalers.autoscaling", "default", "h"}, "v2", false, R"({"kind":"HPA"})");
  w.add_item({"configmaps", "default", std::string(300, 'v')}, "v1", true, "{}");  // a PAX path
  w.finish();
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[0], std::vector<std::string>{"metadata/version"});
  EXPECT_EQ(calls[1], (std::vector<std::string>{"resources/deployments.apps/namespaces/default/web.json",
                                                "resources/deployments.apps/v1-preferredversion/namespaces/default/web.json"}));
  EXPECT_EQ(calls[2].size(), 1u);
  EXPECT_EQ(calls[3].size(), 2u);
  auto entries = read_all(tarball);
  ASSERT_EQ(entries.size(), observed.size());
  for (const auto& e : entries) EXPECT_EQ(observed[e.path], e.content) << e.path;
}

TEST(Tarball, WriterRefusesEscapingPaths) {
  EXPECT_THROW(write_tarball([](TarballWriter& w) { w.add_file("../x", "y"); }), std::invalid_argument);
  EXPECT_THROW(write_tarball([](TarballWriter& w) { w.add_file("/etc/x", "y"); }), std::invalid_argument);
  EXPECT_THROW(write_tarball([](TarballWriter& w) { w.add_file("a/../../x", "y"); }), std::invalid_argument);
}

// Hand-made tar entries for inputs no honest writer produces.
std::string raw_header(const std::string& name, char type, const std::string& size_field,
                       const std::string& link = "") {
  char h[512] = {0};
  std::memcpy(h, name.data(), std::min<size_t>(name.size(), 100));
  std::memcpy(h + 100, "0000644", 7);
  std::memcpy(h + 124, size_field.data(), std::min<size_t>(size_field.size(), 12));
  h[156] = type;
  std::memcpy(h + 157, link.data(), link.size());
  std::memcpy(h + 257,
              "ustar\0"
              "00",
              8);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  return std::string(h, 512);
}

std::string gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string tar_of(const std::string& header, const std::string& content = "") {
  std::string padded = content + std::string((512 - content.size() % 512) % 512, '\0');
  return header + padded + std::string(1024, '\0');
}

std::string error_of(const std::string& tarball, ReaderLimits limits = {}) {
  try {
    read_all(tarball, limits);
  } catch (const ArchiveError& e) {
    std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    return what;
  }
  return "(no error)";
}

TEST(TarballReader, RejectsMaliciousEntries) {
  EXPECT_NE(error_of(gzip(tar_of(raw_header("../evil.json", '0', "00000000002"), "{}"))).find("escapes"),
            std::string::npos);
  EXPECT_NE(error_of(gzip(tar_of(raw_header("resources/../../evil", '0', "00000000002"), "{}"))).find("escapes"),
            std::string::npos);
  EXPECT_NE(error_of(gzip(tar_of(raw_header("/etc/passwd", '0', "00000000002"), "{}"))).find("absolute"),
            std::string::npos);
  EXPECT_NE(error_of(gzip(tar_of(raw_header("resources/link", '2', "00000000000", "/etc/passwd")))).find("links"),
            std::string::npos);
  EXPECT_NE(error_of(gzip(tar_of(raw_header("resources/hard", '1', "00000000000", "x")))).find("links"),
            std::string::npos);
  EXPECT_NE(error_of(gzip(tar_of(raw_header("dev/null", '3', "00000000000")))).find("device"), std::string::npos);
  // A size field of 2^88 in base-256, and a plausible one over the limit.
  std::string huge = "\x80" + std::string(10, '\xff') + "\xff";
  EXPECT_NE(error_of(gzip(tar_of(raw_header("resources/huge.json", '0', huge)))).find("too large"), std::string::npos);
  EXPECT_NE(error_of(gzip(tar_of(raw_header("resources/big.json", '0', "77777777777"))), {1 << 20, 4096})
                .find("exceeds the limit"),
            std::string::npos);
  // A PAX header smuggling a traversal path past the name field.
  std::string pax = "28 path=../../../etc/shadow\n";
  EXPECT_NE(error_of(gzip(raw_header("PaxHeaders.0/x", 'x', "00000000034") + pax + std::string(512 - pax.size(), '\0') +
                          tar_of(raw_header("innocent", '0', "00000000000"))))
                .find("escapes"),
            std::string::npos);
}

TEST(TarballReader, ReportsCorruptAndTruncatedInput) {
  std::string good = write_tarball([](TarballWriter& w) {
    for (int i = 0; i < 200; ++i)
      w.add_item({"pods", "ns", std::to_string(i)}, "v1", true, std::string(900, 'x' + i % 2));
  });
  EXPECT_EQ(read_all(good).size(), 401u);
  EXPECT_NE(error_of(good.substr(0, good.size() / 2)).find("truncated"), std::string::npos);
  EXPECT_NE(error_of(good.substr(0, good.size() - 4)).find("truncated"), std::string::npos);
  std::string flipped = good;
  for (size_t i = 40; i < 60; ++i) flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
  EXPECT_NE(error_of(flipped).find("corrupt"), std::string::npos);
  EXPECT_NE(error_of("this is not gzip at all").find("corrupt"), std::string::npos);
  // Valid gzip, but the tar inside stops in the middle of an entry.
  std::string cut = raw_header("resources/a.json", '0', "00000001000") + std::string(100, 'a');
  EXPECT_NE(error_of(gzip(cut)).find("truncated"), std::string::npos);
  // A header whose checksum does not match.
  std::string bad = raw_header("resources/a.json", '0', "00000000002");
  bad[0] = 'R';
  EXPECT_NE(error_of(gzip(tar_of(bad, "{}"))).find("checksum"), std::string::npos);
}

TEST(TarballReader, SkipsDirectoriesAndUnreadContent) {
  std::string tar = raw_header("resources/", '5', "00000000000") + raw_header("resources/a.json", '0', "00000000002") +
                    "{}" + std::string(510, '\0') + raw_header("./resources/b.json", '0', "00000000003") + "abc" +
                    std::string(509, '\0') + std::string(1024, '\0');
  TarballReader reader(from_string(gzip(tar)));
  auto a = reader.next();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->path, "resources/a.json");
  auto b = reader.next();  // a's content was never read
  ASSERT_TRUE(b);
  EXPECT_EQ(b->path, "resources/b.json");
  EXPECT_EQ(reader.read_content(), "abc");
  EXPECT_FALSE(reader.next());
}

}  // namespace
}  // namespace arca::archive
