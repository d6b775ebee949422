// The store's internal building blocks: encodings, HMAC, the small XML reader, size parsing.
#include <gtest/gtest.h>

#include "store/crypto.h"
#include "store/http.h"
#include "store/local_store.h"
#include "store/location.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

namespace arca::store {
namespace {

TEST(Crypto, KnownVectors) {
  // RFC 4231 test case 2.
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(base64_encode("any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw==");
  EXPECT_EQ(base64_decode("YW55IGNhcm5hbCBwbGVhcw==", "t"), "any carnal pleas");
  EXPECT_THROW(base64_decode("not base64!", "the key"), StoreError);
}

TEST(Crypto, Rfc3986Encoding) {
  EXPECT_EQ(uri_encode("a b+c=d/é~_-.", false), "a%20b%2Bc%3Dd%2F%C3%A9~_-.");
  EXPECT_EQ(uri_encode("backups/b 1/x", true), "backups/b%201/x");
  EXPECT_EQ(uri_decode("a%20b%2Bc%2F%C3%A9%zz"), "a b+c/é%zz");
}

TEST(Xml, ElementsValuesAndEntities) {
  std::string xml =
      "<R><KeyMarker>no</KeyMarker><Contents><Key>a &amp; b &#233;&#x65E5;</Key><Size>12</Size></Contents>"
      "<Contents><Key/><Size>0</Size></Contents><Code>&#xZZ;&bogus;</Code></R>";
  auto contents = xml_elements(xml, "Contents");
  ASSERT_EQ(contents.size(), 2u);
  EXPECT_EQ(xml_value(contents[0], "Key"), "a & b é日");
  EXPECT_EQ(xml_value(contents[1], "Key"), "");
  EXPECT_EQ(xml_elements(xml, "Key").size(), 2u);  // <KeyMarker> is not <Key>
  EXPECT_EQ(xml_value(xml, "Code"), "&#xZZ;&bogus;");
  EXPECT_EQ(xml_escape("<a&'\">"), "&lt;a&amp;&apos;&quot;&gt;");
}

TEST(Sizes, ServerNumbersAreChecked) {
  EXPECT_EQ(parse_size("", "x"), 0u);
  EXPECT_EQ(parse_size("1073741824", "x"), 1073741824u);
  EXPECT_THROW(parse_size("12abc", "x"), StoreError);
  EXPECT_THROW(parse_size("-1", "x"), StoreError);
  EXPECT_THROW(parse_size("99999999999999999999999", "x"), StoreError);
}

}  // namespace
}  // namespace arca::store

namespace arca::store {
namespace {

TEST(ObjectLock, RetentionIsADurationOrDays) {
  EXPECT_EQ(parse_lock_retention("720h"), std::chrono::hours(720));
  EXPECT_EQ(parse_lock_retention("30d"), std::chrono::hours(24 * 30));
  EXPECT_EQ(parse_lock_retention("7"), std::chrono::hours(24 * 7));
  for (const char* bad : {"", "0", "0d", "-1h", "1w", "d", "soon"}) {
    try {
      parse_lock_retention(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const StoreError& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find("objectLockRetention"), std::string::npos) << e.what();
    }
  }
}

TEST(ObjectLock, AwsConfigIsChecked) {
  auto problem = [](std::map<std::string, std::string> config) -> std::string {
    config["s3Url"] = "http://127.0.0.1:1";
    try {
      LocationConfig l{"aws", "b", config, ""};
      setenv("AWS_ACCESS_KEY_ID", "id", 1);
      setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
      open_store(l);
      return "";
    } catch (const StoreError& e) {
      return e.what();
    }
  };
  EXPECT_EQ(problem({{"objectLockMode", "GOVERNANCE"}, {"objectLockRetention", "30d"}}), "");
  EXPECT_EQ(problem({{"objectLockMode", "COMPLIANCE"}, {"objectLockRetention", "1h"}}), "");
  EXPECT_NE(problem({{"objectLockMode", "governance"}, {"objectLockRetention", "1h"}}).find("GOVERNANCE or COMPLIANCE"),
            std::string::npos);
  EXPECT_NE(problem({{"objectLockMode", "GOVERNANCE"}}).find("go together"), std::string::npos);
  EXPECT_NE(problem({{"objectLockRetention", "30d"}}).find("go together"), std::string::npos);
  EXPECT_NE(problem({{"objectLockMode", "GOVERNANCE"}, {"objectLockRetention", "x"}}).find("objectLockRetention"),
            std::string::npos);
}

// Two writers putting and removing their own objects under one prefix (two node agents' lock files in locks/): one's
// remove() takes the emptied directory away while the other's put() is between creating it and its temporary file.
TEST(LocalStore, PutsRaceRemovesThatEmptyTheirDirectory) {
  std::string root = (std::filesystem::temp_directory_path() / "store-unit-XXXXXX").string();
  ASSERT_NE(mkdtemp(root.data()), nullptr);
  std::filesystem::create_directories(root + "/bucket");
  auto store = open_local_store(root, "bucket");
  std::atomic<int> failures{0};
  std::string first_error;
  std::mutex mu;
  auto writer = [&](const std::string& key) {
    for (int i = 0; i < 300; ++i) {
      try {
        put_string(*store, key, "lock");
        store->remove(key);
      } catch (const std::exception& e) {
        std::lock_guard l(mu);
        if (failures++ == 0) first_error = e.what();
      }
    }
  };
  std::thread a(writer, "repo/locks/a"), b(writer, "repo/locks/b");
  a.join();
  b.join();
  std::filesystem::remove_all(root);
  EXPECT_EQ(failures.load(), 0) << first_error;
}

}  // namespace
}  // namespace arca::store
