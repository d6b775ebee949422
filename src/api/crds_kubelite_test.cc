// Registers arca's generated CRDs in a real kubelite process and uses them: every CRD becomes Established,
// typed objects written by arca are stored and read back unchanged, and the real kubectl resolves the
// short names (`bsl`, `vsl`, `ssr`) and prints the printer columns from discovery.
#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "api/crds.h"
#include "api/types.h"
#include "tests/support/kubelite_process.h"

namespace arca::api {
namespace {

using testsupport::TempDir;

struct Reply {
  long status = 0;
  std::string body;
};

size_t append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

Reply http(const std::string& method, const std::string& url, const std::string& body = "") {
  CURL* curl = curl_easy_init();
  Reply reply;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Accept: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);
  if (method == "POST" || method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return reply;
}

bool established(const json& crd) {
  for (const auto& c : crd.value("status", json::object()).value("conditions", json::array())) {
    if (c.value("type", "") == "Established" && c.value("status", "") == "True") return true;
  }
  return false;
}

std::string run_kubectl(const TempDir& dir, const std::string& kubeconfig, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"kubectl", "--kubeconfig", kubeconfig};
  argv.insert(argv.end(), args.begin(), args.end());
  testsupport::ChildProcess kubectl(argv, dir.file("kubectl.log"));
  int status = kubectl.wait(std::chrono::seconds(60));
  std::string output = kubectl.log();
  EXPECT_EQ(status, 0) << output;
  return output;
}

class CrdsInKubelite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    kubelite_ = new testsupport::Kubelite(testsupport::start_kubelite(*dir_));
    const std::string crds = kubelite_->server + "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    for (const auto& crd : velero_crds()) {
      Reply created = http("POST", crds, crd.dump());
      ASSERT_EQ(created.status, 201) << created.body;
    }
    Reply ns = http("POST", kubelite_->server + "/api/v1/namespaces",
                    R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"velero"}})");
    ASSERT_EQ(ns.status, 201) << ns.body;
  }
  static void TearDownTestSuite() {
    delete kubelite_;
    delete dir_;
  }
  static std::string url(const std::string& path) { return kubelite_->server + path; }

  static TempDir* dir_;
  static testsupport::Kubelite* kubelite_;
};

TempDir* CrdsInKubelite::dir_ = nullptr;
testsupport::Kubelite* CrdsInKubelite::kubelite_ = nullptr;

TEST_F(CrdsInKubelite, EveryCrdIsEstablishedAndServed) {
  for (const auto& crd : velero_crds()) {
    const std::string name = crd["metadata"]["name"];
    bool ok = false;
    for (int attempt = 0; attempt < 50 && !ok; ++attempt) {
      Reply got = http("GET", url("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + name));
      ok = got.status == 200 && established(json::parse(got.body));
      if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(ok) << name;
  }
  Reply group = http("GET", url("/apis/velero.io/v1"));
  ASSERT_EQ(group.status, 200);
  EXPECT_THAT(group.body, ::testing::HasSubstr("\"backupstoragelocations\""));
  EXPECT_EQ(http("GET", url("/apis/velero.io/v2alpha1/namespaces/velero/datauploads")).status, 200);
}

TEST_F(CrdsInKubelite, TypedObjectsRoundTripThroughTheApiServer) {
  Backup backup;
  backup.metadata.name = "nightly";
  backup.metadata.labels = {{"velero.io/storage-location", "default"}};
  backup.spec.included_namespaces = {"app-*"};
  backup.spec.ttl = std::chrono::hours(720);
  backup.spec.label_selector = parse_label_selector("app=web,tier in (fe)");
  backup.spec.include_cluster_resources = false;
  backup.spec.unknown = {{"aFieldFromANewerVelero", "kept"}};
  Reply created = http("POST", url("/apis/velero.io/v1/namespaces/velero/backups"), json(backup).dump());
  ASSERT_EQ(created.status, 201) << created.body;

  Reply got = http("GET", url("/apis/velero.io/v1/namespaces/velero/backups/nightly"));
  ASSERT_EQ(got.status, 200);
  Backup stored = json::parse(got.body).get<Backup>();
  EXPECT_EQ(stored.metadata.namespace_, "velero");
  EXPECT_FALSE(stored.metadata.uid.empty());
  EXPECT_FALSE(stored.metadata.resource_version.empty());
  EXPECT_TRUE(stored.metadata.creation_timestamp.has_value());
  // Velero's Backup schema does not preserve unknown fields, so an API server prunes them (as kubelite does,
  // like a real cluster); everything the schema knows comes back unchanged.
  EXPECT_FALSE(json(stored.spec).contains("aFieldFromANewerVelero")) << got.body;
  backup.spec.unknown = json::object();
  EXPECT_EQ(json(stored.spec), json(backup.spec));

  // Status written by a controller comes back typed.
  stored.status.phase = BackupPhase::InProgress;
  stored.status.progress.emplace();
  stored.status.progress->total_items = 10;
  stored.status.progress->items_backed_up = 3;
  Reply updated = http("PUT", url("/apis/velero.io/v1/namespaces/velero/backups/nightly"), json(stored).dump());
  ASSERT_EQ(updated.status, 200) << updated.body;
  Backup after = json::parse(updated.body).get<Backup>();
  EXPECT_EQ(after.status.phase, BackupPhase::InProgress);
  EXPECT_EQ(after.status.progress->items_backed_up, 3);
}

TEST_F(CrdsInKubelite, KubectlUsesShortNamesAndPrinterColumns) {
  BackupStorageLocation bsl;
  bsl.metadata.name = "default";
  bsl.spec.provider = "aws";
  bsl.spec.object_storage.bucket = "velero";
  bsl.spec.is_default = true;
  Reply created = http("POST", url("/apis/velero.io/v1/namespaces/velero/backupstoragelocations"), json(bsl).dump());
  ASSERT_EQ(created.status, 201) << created.body;
  std::string names = run_kubectl(*dir_, kubelite_->kubeconfig, {"get", "bsl", "-n", "velero", "-o", "name"});
  EXPECT_THAT(names, ::testing::HasSubstr("backupstoragelocation.velero.io/default"));
  std::string table = run_kubectl(*dir_, kubelite_->kubeconfig, {"get", "backupstoragelocations", "-n", "velero"});
  EXPECT_THAT(table, ::testing::ContainsRegex("NAME +PHASE +LAST VALIDATED +AGE +DEFAULT"));
  EXPECT_THAT(table, ::testing::ContainsRegex("default +.*true"));
}

}  // namespace
}  // namespace arca::api
