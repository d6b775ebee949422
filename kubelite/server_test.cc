// Integration tests of the kubelite binary over real sockets: persistence across kill -9, TLS
// authentication, paging, watch, namespace deletion, the CRD lifecycle and --load. The exhaustive
// conformance checklist lives in kubelite/tests/.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "tests/support/kubelite_process.h"
#include "tests/support/process.h"

namespace {

using json = nlohmann::json;
using testsupport::Kubelite;
using testsupport::KubeliteOptions;
using testsupport::TempDir;

struct Reply {
  long status = 0;
  std::string body;
  json object() const { return json::parse(body); }
};

struct Credentials {
  std::string ca_file = {};    // verify the server with this CA (TLS)
  std::string token = {};      // bearer token
  std::string cert_file = {};  // client certificate and its key
  std::string key_file = {};
};

size_t append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

Reply http(const std::string& method, const std::string& url, const std::string& body = "",
           const std::string& content_type = "application/json", const Credentials& creds = {}, long timeout_ms = 20000) {
  CURL* curl = curl_easy_init();
  Reply reply;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  if (!creds.token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + creds.token).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  if (!creds.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, creds.ca_file.c_str());
  if (!creds.cert_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, creds.cert_file.c_str());
    curl_easy_setopt(curl, CURLOPT_SSLKEY, creds.key_file.c_str());
  }
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK || rc == CURLE_OPERATION_TIMEDOUT) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  if (rc != CURLE_OK && rc != CURLE_OPERATION_TIMEDOUT) reply.body = curl_easy_strerror(rc);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return reply;
}

json config_map(const std::string& name, const std::string& value = "v") {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}, {"data", {{"k", value}}}};
}

std::vector<json> watch_events(const std::string& body) {
  std::vector<json> events;
  size_t start = 0;
  while (start < body.size()) {
    size_t nl = body.find('\n', start);
    if (nl == std::string::npos) break;
    events.push_back(json::parse(body.substr(start, nl - start)));
    start = nl + 1;
  }
  return events;
}

// The harness's wait, with this suite's deadline: `done` polled every 50 ms for up to 10 s.
bool eventually(const std::function<bool()>& done) {
  return testsupport::eventually(done, std::chrono::seconds(10), std::chrono::milliseconds(50));
}

TEST(KubeliteServer, StateSurvivesKill9AndRestart) {
  TempDir dir;
  KubeliteOptions options;
  options.data_dir = dir.file("data");
  std::string rv_before;
  {
    Kubelite k = testsupport::start_kubelite(dir, options);
    std::string cms = k.server + "/api/v1/namespaces/default/configmaps";
    ASSERT_EQ(http("POST", cms, config_map("kept", "1").dump()).status, 201);
    ASSERT_EQ(http("POST", cms, config_map("gone").dump()).status, 201);
    ASSERT_EQ(http("PUT", cms + "/kept", config_map("kept", "2").dump()).status, 200);
    ASSERT_EQ(http("DELETE", cms + "/gone").status, 200);
    ASSERT_EQ(http("POST", k.server + "/api/v1/namespaces", R"({"metadata":{"name":"persisted"}})").status, 201);
    rv_before = http("GET", cms + "/kept").object()["metadata"]["resourceVersion"];
    k.process.signal(SIGKILL);
    k.process.wait(std::chrono::seconds(5));
  }
  Kubelite k = testsupport::start_kubelite(dir, options);
  std::string cms = k.server + "/api/v1/namespaces/default/configmaps";
  Reply kept = http("GET", cms + "/kept");
  ASSERT_EQ(kept.status, 200) << kept.body;
  EXPECT_EQ(kept.object()["data"]["k"], "2");
  EXPECT_EQ(kept.object()["metadata"]["resourceVersion"], rv_before);
  EXPECT_EQ(http("GET", cms + "/gone").status, 404);
  EXPECT_EQ(http("GET", k.server + "/api/v1/namespaces/persisted").status, 200);
  // The counter continues after the replayed history: a new write gets a larger resourceVersion.
  Reply created = http("POST", cms, config_map("after").dump());
  ASSERT_EQ(created.status, 201);
  EXPECT_GT(std::stoull(created.object()["metadata"]["resourceVersion"].get<std::string>()), std::stoull(rv_before));
  // The seeded namespaces were not seeded twice.
  EXPECT_EQ(http("GET", k.server + "/api/v1/namespaces").object()["items"].size(), 5u);
}

TEST(KubeliteServer, TlsAcceptsTokenAndClientCertificateAndRefusesAnonymous) {
  TempDir dir;
  KubeliteOptions options;
  options.tls = true;
  Kubelite k = testsupport::start_kubelite(dir, options);
  ASSERT_EQ(k.server.rfind("https://127.0.0.1:", 0), 0u) << k.server;
  ASSERT_FALSE(k.ca_file.empty());
  std::string url = k.server + "/api/v1/namespaces/default";

  Reply anonymous = http("GET", url, "", "application/json", {.ca_file = k.ca_file});
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.object()["reason"], "Unauthorized");
  EXPECT_EQ(anonymous.object()["kind"], "Status");

  EXPECT_EQ(http("GET", url, "", "application/json", {.ca_file = k.ca_file, .token = "wrong-token"}).status, 401);
  Reply with_token = http("GET", url, "", "application/json", {.ca_file = k.ca_file, .token = k.token});
  EXPECT_EQ(with_token.status, 200) << with_token.body;

  // The client certificate of the "kubelite-cert" context.
  std::string kubeconfig = testsupport::read_file(k.kubeconfig);
  auto field = [&](const std::string& key) {
    size_t at = kubeconfig.find(key + ": ");
    EXPECT_NE(at, std::string::npos) << key;
    size_t start = at + key.size() + 2;
    std::string b64 = kubeconfig.substr(start, kubeconfig.find('\n', start) - start);
    std::string out(b64.size(), '\0');
    FILE* p = popen(("echo " + b64 + " | base64 -d").c_str(), "r");
    size_t n = fread(out.data(), 1, out.size(), p);
    pclose(p);
    out.resize(n);
    return out;
  };
  std::ofstream(dir.file("client.crt")) << field("client-certificate-data");
  std::ofstream(dir.file("client.key")) << field("client-key-data");
  Reply with_cert = http("GET", url, "", "application/json",
                         {.ca_file = k.ca_file, .cert_file = dir.file("client.crt"), .key_file = dir.file("client.key")});
  EXPECT_EQ(with_cert.status, 200) << with_cert.body;
}

TEST(KubeliteServer, PagesTenThousandObjectsFromOneSnapshot) {
  TempDir dir;
  // --load takes a JSON List: the fastest way to get 10k objects in.
  json list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", json::array()}};
  for (int i = 0; i < 10000; ++i) {
    json cm = config_map("cm-" + std::to_string(i));
    cm["metadata"]["namespace"] = "paging";
    list["items"].push_back(cm);
  }
  std::filesystem::create_directories(dir.file("load"));
  std::ofstream(dir.file("load/configmaps.json")) << list.dump();
  KubeliteOptions options;
  options.load_dir = dir.file("load");
  Kubelite k = testsupport::start_kubelite(dir, options);
  std::string url = k.server + "/api/v1/namespaces/paging/configmaps";

  std::vector<std::string> names;
  std::string token, list_rv;
  int pages = 0;
  do {
    Reply page = http("GET", url + "?limit=500" + (token.empty() ? "" : "&continue=" + token));
    ASSERT_EQ(page.status, 200) << page.body;
    json body = page.object();
    if (pages == 0) {
      list_rv = body["metadata"]["resourceVersion"];
      // A write after the first page must not show up in later pages (one snapshot).
      ASSERT_EQ(http("POST", url, config_map("cm-zzz-late").dump()).status, 201);
      EXPECT_EQ(body["metadata"]["remainingItemCount"], 9501);
    }
    EXPECT_EQ(body["metadata"]["resourceVersion"], list_rv);
    for (const auto& item : body["items"]) {
      EXPECT_FALSE(item.contains("kind"));  // built-in list items carry no kind
      names.push_back(item["metadata"]["name"]);
    }
    token = body["metadata"].value("continue", "");
    ++pages;
  } while (!token.empty());
  // 10,000 loaded plus the kube-root-ca.crt of the namespace --load created; not the late one.
  EXPECT_EQ(pages, 21);
  ASSERT_EQ(names.size(), 10001u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::count(names.begin(), names.end(), "kube-root-ca.crt"), 1);
  EXPECT_EQ(std::count(names.begin(), names.end(), "cm-zzz-late"), 0);

  Reply garbage = http("GET", url + "?limit=5&continue=not-a-token");
  EXPECT_EQ(garbage.status, 400);
  EXPECT_EQ(garbage.object()["reason"], "BadRequest");
  // A well-formed token for a snapshot the server does not hold.
  Reply expired = http("GET", url + "?limit=5&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MSwic3RhcnQiOiJhXHUwMDAwIn0=");
  EXPECT_EQ(expired.status, 410);
  EXPECT_EQ(expired.object()["reason"], "Expired");
}

TEST(KubeliteServer, WatchDeliversChangesAfterTheListVersionAndEndsOnTimeout) {
  TempDir dir;
  Kubelite k = testsupport::start_kubelite(dir);
  std::string cms = k.server + "/api/v1/namespaces/default/configmaps";
  ASSERT_EQ(http("POST", cms, config_map("before").dump()).status, 201);
  std::string list_rv = http("GET", cms).object()["metadata"]["resourceVersion"];
  // A change between the LIST and the WATCH is still delivered.
  ASSERT_EQ(http("POST", cms, config_map("between").dump()).status, 201);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    http("PUT", cms + "/between", config_map("between", "2").dump());
    http("DELETE", cms + "/between");
  });
  auto start = std::chrono::steady_clock::now();
  Reply stream = http("GET", cms + "?watch=true&timeoutSeconds=2&resourceVersion=" + list_rv);
  auto elapsed = std::chrono::steady_clock::now() - start;
  writer.join();
  ASSERT_EQ(stream.status, 200) << stream.body;
  EXPECT_LT(elapsed, std::chrono::seconds(4));
  std::vector<json> events = watch_events(stream.body);
  ASSERT_EQ(events.size(), 3u) << stream.body;
  EXPECT_EQ(events[0]["type"], "ADDED");
  EXPECT_EQ(events[1]["type"], "MODIFIED");
  EXPECT_EQ(events[2]["type"], "DELETED");
  for (const auto& e : events) {
    EXPECT_EQ(e["object"]["kind"], "ConfigMap");
    EXPECT_EQ(e["object"]["metadata"]["name"], "between");
  }
  // Without a resourceVersion the current state comes first as ADDED.
  Reply initial = http("GET", cms + "?watch=1&timeoutSeconds=1");
  std::vector<json> added = watch_events(initial.body);
  ASSERT_FALSE(added.empty());
  EXPECT_EQ(added[0]["type"], "ADDED");
  // A version older than the retained history: an ERROR event with a 410 Expired Status.
  Reply old = http("GET", cms + "?watch=1&timeoutSeconds=1&resourceVersion=1");
  std::vector<json> error = watch_events(old.body);
  ASSERT_EQ(error.size(), 1u) << old.body;
  EXPECT_EQ(error[0]["type"], "ERROR");
  EXPECT_EQ(error[0]["object"]["code"], 410);
  EXPECT_EQ(error[0]["object"]["reason"], "Expired");
}

// Velero's restore sets the backed-up managedFields with a merge patch after each create (Velero's restore.go restoreItem):
// valid ones are stored as sent and bump the resourceVersion, the same ones again or invalid ones write nothing.
TEST(KubeliteServer, ManagedFieldsPatchStoresValidEntriesAndWritesOnlyWhenTheyChange) {
  TempDir dir;
  Kubelite k = testsupport::start_kubelite(dir);
  std::string cms = k.server + "/api/v1/namespaces/default/configmaps";
  Reply created = http("POST", cms, config_map("restored").dump());
  ASSERT_EQ(created.status, 201) << created.body;
  std::string created_rv = created.object()["metadata"]["resourceVersion"];
  const std::string merge = "application/merge-patch+json";
  json backed_up = json::parse(R"([
    {"manager":"kubectl-client-side-apply","operation":"Update","apiVersion":"v1","time":"2025-01-02T03:04:05Z",
     "fieldsType":"FieldsV1","fieldsV1":{"f:data":{".":{},"f:k":{}}}},
    {"manager":"helm","operation":"Apply","apiVersion":"v1","time":"2025-01-01T00:00:00Z",
     "fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{"f:gone":{}}}}}])");
  auto patch_with = [&](const json& entries) {
    return http("PATCH", cms + "/restored", json{{"metadata", {{"managedFields", entries}}}}.dump(), merge);
  };
  auto rv_of = [](const Reply& r) { return r.object()["metadata"]["resourceVersion"].get<std::string>(); };

  Reply patched = patch_with(backed_up);
  ASSERT_EQ(patched.status, 200) << patched.body;
  json expected = json::array({backed_up[1], backed_up[0]});  // sorted as the API server sorts them: Apply first
  EXPECT_EQ(patched.object()["metadata"]["managedFields"], expected);
  EXPECT_EQ(patched.object()["kind"], "ConfigMap");
  std::string patched_rv = rv_of(patched);
  EXPECT_GT(std::stoull(patched_rv), std::stoull(created_rv));
  Reply got = http("GET", cms + "/restored");
  EXPECT_EQ(got.object()["metadata"]["managedFields"], expected);
  EXPECT_EQ(got.object()["data"], created.object()["data"]);
  EXPECT_EQ(rv_of(got), patched_rv);

  // The same entries again, an empty list or invalid entries: nothing is written.
  json invalid = backed_up;
  invalid[0]["operation"] = "Steal";
  for (const json& entries : {backed_up, json::array(), invalid}) {
    Reply again = patch_with(entries);
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(rv_of(again), patched_rv) << entries.dump();
    EXPECT_EQ(again.object()["metadata"]["managedFields"], expected);
  }
  // A dry run answers with the new entries and stores nothing.
  json one = json::array({backed_up[0]});
  Reply dry = http("PATCH", cms + "/restored?dryRun=All", json{{"metadata", {{"managedFields", one}}}}.dump(), merge);
  ASSERT_EQ(dry.status, 200) << dry.body;
  EXPECT_EQ(dry.object()["metadata"]["managedFields"], one);
  EXPECT_EQ(rv_of(http("GET", cms + "/restored")), patched_rv);
  // An update that changes only managedFields stores them too.
  json replaced = http("GET", cms + "/restored").object();
  replaced["metadata"]["managedFields"] = one;
  Reply put = http("PUT", cms + "/restored", replaced.dump());
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.object()["metadata"]["managedFields"], one);
  EXPECT_GT(std::stoull(rv_of(put)), std::stoull(patched_rv));
  // Watchers see the two writes.
  std::vector<json> events = watch_events(http("GET", cms + "?watch=1&timeoutSeconds=1&resourceVersion=" + created_rv).body);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["type"], "MODIFIED");
  EXPECT_EQ(events[0]["object"]["metadata"]["managedFields"], expected);
  EXPECT_EQ(events[1]["object"]["metadata"]["managedFields"], one);
  EXPECT_EQ(patch_with(backed_up).status, 200);
  EXPECT_EQ(http("PATCH", cms + "/missing", json{{"metadata", {{"managedFields", backed_up}}}}.dump(), merge).status, 404);
}

TEST(KubeliteServer, NamespaceDeletionWaitsForFinalizersThenRemovesEverything) {
  TempDir dir;
  Kubelite k = testsupport::start_kubelite(dir);
  std::string ns_url = k.server + "/api/v1/namespaces/doomed";
  ASSERT_EQ(http("POST", k.server + "/api/v1/namespaces", R"({"metadata":{"name":"doomed"}})").status, 201);
  std::string cms = ns_url + "/configmaps";
  json held = config_map("held");
  held["metadata"]["finalizers"] = {"example.com/hold"};
  ASSERT_EQ(http("POST", cms, held.dump()).status, 201);
  ASSERT_EQ(http("POST", cms, config_map("plain").dump()).status, 201);
  // The controllers fill a new namespace with ServiceAccount default and ConfigMap kube-root-ca.crt.
  EXPECT_EQ(http("GET", ns_url + "/serviceaccounts/default").status, 200);
  EXPECT_EQ(http("GET", cms + "/kube-root-ca.crt").status, 200);

  Reply deleted = http("DELETE", ns_url);
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(deleted.object()["status"]["phase"], "Terminating");
  EXPECT_TRUE(deleted.object()["metadata"].contains("deletionTimestamp"));
  Reply refused = http("POST", cms, config_map("late").dump());
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.object()["details"]["causes"][0]["reason"], "NamespaceTerminating");
  EXPECT_EQ(http("DELETE", ns_url).status, 409);
  EXPECT_TRUE(eventually([&] { return http("GET", cms + "/plain").status == 404; }));
  // The finalizer holds the namespace.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(http("GET", ns_url).status, 200);
  EXPECT_EQ(http("PATCH", cms + "/held", R"({"metadata":{"finalizers":null}})", "application/merge-patch+json").status, 200);
  EXPECT_TRUE(eventually([&] { return http("GET", ns_url).status == 404; }));
  EXPECT_EQ(http("DELETE", k.server + "/api/v1/namespaces/default").status, 403);
}

TEST(KubeliteServer, CustomResourceDefinitionLifecycle) {
  TempDir dir;
  Kubelite k = testsupport::start_kubelite(dir);
  json crd = {{"apiVersion", "apiextensions.k8s.io/v1"},
              {"kind", "CustomResourceDefinition"},
              {"metadata", {{"name", "widgets.example.com"}}},
              {"spec",
               {{"group", "example.com"},
                {"scope", "Namespaced"},
                {"names", {{"plural", "widgets"}, {"singular", "widget"}, {"kind", "Widget"}}},
                {"versions", json::array({{{"name", "v1"},
                                           {"served", true},
                                           {"storage", true},
                                           {"schema", {{"openAPIV3Schema", {{"type", "object"}}}}}}})}}}};
  std::string crds = k.server + "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
  json bad = crd;
  bad["metadata"]["name"] = "wrong.example.com";
  Reply invalid = http("POST", crds, bad.dump());
  EXPECT_EQ(invalid.status, 422);
  EXPECT_EQ(invalid.object()["reason"], "Invalid");

  ASSERT_EQ(http("POST", crds, crd.dump()).status, 201);
  json status = http("GET", crds + "/widgets.example.com").object()["status"];
  bool established = false;
  for (const auto& c : status["conditions"])
    if (c["type"] == "Established" && c["status"] == "True") established = true;
  EXPECT_TRUE(established) << status.dump();
  EXPECT_NE(http("GET", k.server + "/apis").body.find("example.com/v1"), std::string::npos);

  std::string widgets = k.server + "/apis/example.com/v1/namespaces/default/widgets";
  Reply empty = http("GET", widgets);
  ASSERT_EQ(empty.status, 200);
  EXPECT_EQ(empty.object()["kind"], "WidgetList");
  json widget = {{"apiVersion", "example.com/v1"}, {"kind", "Widget"}, {"metadata", {{"name", "w1"}}}, {"spec", {{"size", 3}}}};
  ASSERT_EQ(http("POST", widgets, widget.dump()).status, 201);
  json listed = http("GET", widgets).object();
  ASSERT_EQ(listed["items"].size(), 1u);
  EXPECT_EQ(listed["items"][0]["kind"], "Widget");  // custom resource list items keep their kind
  EXPECT_EQ(http("PATCH", widgets + "/w1", R"({"spec":{"size":4}})", "application/strategic-merge-patch+json").status, 415);
  // The structural schema declares no spec fields: unknown fields are refused (Strict) or pruned (default Warn).
  json extra = widget;
  extra["metadata"]["name"] = "w2";
  Reply strict = http("POST", widgets + "?fieldValidation=Strict", extra.dump());
  EXPECT_EQ(strict.status, 400);
  EXPECT_EQ(strict.object()["message"], "strict decoding error: unknown field \"spec\"");
  ASSERT_EQ(http("POST", widgets, extra.dump()).status, 201);
  EXPECT_FALSE(http("GET", widgets + "/w2").object().contains("spec"));

  ASSERT_EQ(http("DELETE", crds + "/widgets.example.com").status, 200);
  EXPECT_TRUE(eventually([&] { return http("GET", crds + "/widgets.example.com").status == 404; }));
  EXPECT_EQ(http("GET", k.server + "/apis").body.find("example.com/v1"), std::string::npos);
  EXPECT_EQ(http("GET", widgets).status, 404);
  // Re-created, the group is empty: the instances went with the CRD.
  ASSERT_EQ(http("POST", crds, crd.dump()).status, 201);
  EXPECT_EQ(http("GET", widgets).object()["items"].size(), 0u);
}

// Two replicas of nginx labelled app=web.
json web_deployment() {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", "web"}}},
          {"spec",
           {{"replicas", 2},
            {"selector", {{"matchLabels", {{"app", "web"}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", "web"}}}}},
              {"spec", {{"containers", {{{"name", "c"}, {"image", "nginx:1.25"}}}}}}}}}}};
}

TEST(KubeliteServer, ControllersBindVolumesAndReportWorkloadStatus) {
  TempDir dir;
  Kubelite k = testsupport::start_kubelite(dir);
  std::string api = k.server + "/api/v1";
  auto pv = [](const std::string& name, const std::string& cls, const json& claim_ref) {
    json v = {{"apiVersion", "v1"},
              {"kind", "PersistentVolume"},
              {"metadata", {{"name", name}}},
              {"spec",
               {{"capacity", {{"storage", "5Gi"}}},
                {"accessModes", {"ReadWriteOnce"}},
                {"storageClassName", cls},
                {"hostPath", {{"path", "/tmp/" + name}}}}}};
    if (!claim_ref.is_null()) v["spec"]["claimRef"] = claim_ref;
    return v;
  };
  auto pvc = [](const std::string& name, const std::string& cls) {
    return json{{"apiVersion", "v1"},
                {"kind", "PersistentVolumeClaim"},
                {"metadata", {{"name", name}}},
                {"spec",
                 {{"accessModes", {"ReadWriteOnce"}},
                  {"storageClassName", cls},
                  {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}};
  };
  // Static binding by class and size.
  ASSERT_EQ(http("POST", api + "/persistentvolumes", pv("static", "manual", nullptr).dump()).status, 201);
  ASSERT_EQ(http("POST", api + "/namespaces/default/persistentvolumeclaims", pvc("claim", "manual").dump()).status, 201);
  EXPECT_TRUE(eventually([&] {
    json claim = http("GET", api + "/namespaces/default/persistentvolumeclaims/claim").object();
    return claim.value("status", json::object()).value("phase", "") == "Bound" &&
           claim["spec"].value("volumeName", "") == "static";
  }));
  json bound = http("GET", api + "/persistentvolumes/static").object();
  EXPECT_EQ(bound["status"]["phase"], "Bound");
  EXPECT_EQ(bound["spec"]["claimRef"]["name"], "claim");
  // Dynamic provisioning through a StorageClass.
  json sc = {{"apiVersion", "storage.k8s.io/v1"},
             {"kind", "StorageClass"},
             {"metadata", {{"name", "fast"}}},
             {"provisioner", "example.com/fast"}};
  ASSERT_EQ(http("POST", k.server + "/apis/storage.k8s.io/v1/storageclasses", sc.dump()).status, 201);
  ASSERT_EQ(http("POST", api + "/namespaces/default/persistentvolumeclaims", pvc("dynamic", "fast").dump()).status, 201);
  std::string provisioned;
  EXPECT_TRUE(eventually([&] {
    json claim = http("GET", api + "/namespaces/default/persistentvolumeclaims/dynamic").object();
    provisioned = claim["spec"].value("volumeName", "");
    return claim.value("status", json::object()).value("phase", "") == "Bound";
  }));
  json dynamic = http("GET", api + "/persistentvolumes/" + provisioned).object();
  EXPECT_EQ(dynamic["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"], "example.com/fast");
  // A restored volume whose claimRef names a claim uid that does not exist here is Released.
  json stale_ref = {{"kind", "PersistentVolumeClaim"}, {"namespace", "default"}, {"name", "old"},
                    {"uid", "00000000-0000-4000-8000-000000000000"}, {"apiVersion", "v1"}};
  ASSERT_EQ(http("POST", api + "/persistentvolumes", pv("restored", "manual", stale_ref).dump()).status, 201);
  EXPECT_TRUE(eventually([&] {
    return http("GET", api + "/persistentvolumes/restored").object().value("status", json::object()).value("phase", "") ==
           "Released";
  }));

  // A Deployment is reported available once created (no pods run here).
  json deployment = web_deployment();
  std::string deployments = k.server + "/apis/apps/v1/namespaces/default/deployments";
  ASSERT_EQ(http("POST", deployments, deployment.dump()).status, 201);
  EXPECT_TRUE(eventually([&] {
    json status = http("GET", deployments + "/web").object().value("status", json::object());
    return status.value("availableReplicas", 0) == 2 && status.value("observedGeneration", 0) == 1;
  }));
  // Defaults and the immutable selector.
  json stored = http("GET", deployments + "/web").object();
  EXPECT_EQ(stored["spec"]["revisionHistoryLimit"], 10);
  EXPECT_EQ(stored["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"], "IfNotPresent");
  stored["spec"]["selector"]["matchLabels"]["app"] = "other";
  stored["spec"]["template"]["metadata"]["labels"]["app"] = "other";
  Reply immutable = http("PUT", deployments + "/web", stored.dump());
  EXPECT_EQ(immutable.status, 422);
  EXPECT_EQ(immutable.object()["details"]["causes"][0]["field"], "spec.selector");
}

// What the Deployment controller writes as its ReplicaSet's pods come up: its status, through the status
// subresource, recorded in kube-controller-manager's entry with "subresource": "status" — which takes the status
// fields it changes from other status writers, and loses the fields that no longer exist.
TEST(KubeliteServer, WorkloadStatusIsWrittenWithTheControllersStatusEntry) {
  TempDir dir;
  Kubelite k = testsupport::start_kubelite(dir);
  std::string deployments = k.server + "/apis/apps/v1/namespaces/default/deployments";
  json deployment = web_deployment();
  Reply created = http("POST", deployments + "?fieldManager=creator", deployment.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  std::string created_rv = created.object()["metadata"]["resourceVersion"];
  json reported;
  auto available = [&](int replicas) {
    reported = http("GET", deployments + "/web").object();
    const json& st = reported.value("status", json::object());
    return st.value("availableReplicas", 0) == replicas && st.value("replicas", 0) == replicas &&
           st.value("conditions", json::array()).size() == 2 &&
           st["conditions"][1].value("reason", "") == "NewReplicaSetAvailable";
  };
  ASSERT_TRUE(eventually([&] { return available(2); })) << reported.dump();
  json sets = http("GET", k.server + "/apis/apps/v1/namespaces/default/replicasets").object()["items"];
  ASSERT_EQ(sets.size(), 1u);
  std::string rs_name = sets[0]["metadata"]["name"];
  EXPECT_EQ(rs_name, "web-" + sets[0]["metadata"]["labels"]["pod-template-hash"].get<std::string>());
  EXPECT_GT(std::stoull(reported["metadata"]["resourceVersion"].get<std::string>()), std::stoull(created_rv));
  json status = reported["status"];
  for (auto& condition : status["conditions"]) {
    condition.erase("lastTransitionTime");
    condition.erase("lastUpdateTime");
  }
  EXPECT_EQ(status, json::parse(R"({"availableReplicas":2,"observedGeneration":1,"readyReplicas":2,"replicas":2,
    "updatedReplicas":2,"conditions":[
    {"message":"Deployment has minimum availability.","reason":"MinimumReplicasAvailable","status":"True","type":"Available"},
    {"message":"ReplicaSet \")" + rs_name + R"(\" has successfully progressed.","reason":"NewReplicaSetAvailable","status":"True",
     "type":"Progressing"}]})"));
  const json status_fields = json::parse(R"({"f:status":{"f:availableReplicas":{},"f:conditions":{
    "k:{\"type\":\"Available\"}":{".":{},"f:lastTransitionTime":{},"f:lastUpdateTime":{},"f:message":{},"f:reason":{},
      "f:status":{},"f:type":{}},
    "k:{\"type\":\"Progressing\"}":{".":{},"f:lastTransitionTime":{},"f:lastUpdateTime":{},"f:message":{},"f:reason":{},
      "f:status":{},"f:type":{}}},
    "f:observedGeneration":{},"f:readyReplicas":{},"f:replicas":{},"f:updatedReplicas":{}}})");
  json entries = reported["metadata"]["managedFields"];
  ASSERT_EQ(entries.size(), 2u) << entries.dump();
  EXPECT_EQ(entries[0], created.object()["metadata"]["managedFields"][0]);
  json controller = entries[1];
  EXPECT_FALSE(controller["time"].get<std::string>().empty());
  controller.erase("time");
  EXPECT_EQ(controller, (json{{"manager", "kube-controller-manager"}, {"operation", "Update"}, {"apiVersion", "apps/v1"},
                              {"fieldsType", "FieldsV1"}, {"subresource", "status"}, {"fieldsV1", status_fields}}));
  // The status went through its stages (replicas coming up) as MODIFIED events, the last being what GET shows.
  std::vector<json> events =
      watch_events(http("GET", deployments + "?watch=1&timeoutSeconds=1&resourceVersion=" + created_rv).body);
  ASSERT_GE(events.size(), 2u);
  for (const json& e : events) EXPECT_EQ(e["type"], "MODIFIED");
  EXPECT_EQ(events.back()["object"], reported);

  // Another status writer owns replicas and a field that does not exist; the controller's entry names one too.
  json restored = entries;
  restored[1]["fieldsV1"]["f:status"]["f:gone"] = json::object();
  restored.push_back({{"manager", "other"}, {"operation", "Update"}, {"apiVersion", "apps/v1"},
                      {"time", "2025-01-01T00:00:00Z"}, {"fieldsType", "FieldsV1"}, {"subresource", "status"},
                      {"fieldsV1", {{"f:status", {{"f:replicas", json::object()}, {"f:extra", json::object()}}}}}});
  const std::string merge = "application/merge-patch+json";
  ASSERT_EQ(http("PATCH", deployments + "/web", json{{"metadata", {{"managedFields", restored}}}}.dump(), merge).status, 200);
  ASSERT_EQ(http("PATCH", deployments + "/web?fieldManager=scaler", R"({"spec":{"replicas":3}})", merge).status, 200);
  ASSERT_TRUE(eventually([&] { return available(3) && reported["status"].value("observedGeneration", 0) == 2; }))
      << reported.dump();
  entries = reported["metadata"]["managedFields"];
  ASSERT_EQ(entries.size(), 3u) << entries.dump();  // "other" lost replicas to the controller, and owns nothing
  EXPECT_EQ(entries[1]["manager"], "scaler");
  EXPECT_EQ(entries[2]["manager"], "kube-controller-manager");
  EXPECT_EQ(entries[2]["subresource"], "status");
  EXPECT_EQ(entries[2]["fieldsV1"], status_fields);
}

// The volume binding controller reads what changed, not every claim and volume on each pass: with hundreds of
// waiting claims, one more claim, a new volume or a deleted claim costs a handful of reads (the server counts
// them in /metrics), where re-reading the collections cost one read per claim and volume per pass.
TEST(KubeliteServer, VolumeBindingReadsOnlyWhatChanged) {
  TempDir dir;
  Kubelite k = testsupport::start_kubelite(dir);
  std::string claims = k.server + "/api/v1/namespaces/default/persistentvolumeclaims";
  auto examined = [&] {
    std::string text = http("GET", k.server + "/metrics").body;
    const std::string name = "\nkubelite_volume_binding_objects_examined_total ";
    size_t at = text.find(name);
    return at == std::string::npos ? -1L : std::stol(text.substr(at + name.size()));
  };
  auto settled = [&] {  // the count stops moving once the controller has caught up
    long before = examined();
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    return examined() == before;
  };
  auto pvc = [](const std::string& name) {
    return json{{"apiVersion", "v1"},
                {"kind", "PersistentVolumeClaim"},
                {"metadata", {{"name", name}}},
                {"spec",
                 {{"accessModes", {"ReadWriteOnce"}},
                  {"storageClassName", "slow"},
                  {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}};
  };
  const int waiting = 300;  // no volume and no StorageClass "slow": they all stay Pending
  for (int i = 0; i < waiting; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "claim-%03d", i);
    ASSERT_EQ(http("POST", claims, pvc(name).dump()).status, 201);
  }
  ASSERT_TRUE(eventually([&] { return examined() >= waiting; }));
  ASSERT_TRUE(eventually(settled));

  long start = examined();
  ASSERT_EQ(http("POST", claims, pvc("one-more").dump()).status, 201);
  ASSERT_TRUE(eventually([&] { return examined() > start; }));
  ASSERT_TRUE(eventually(settled));
  EXPECT_LE(examined() - start, 2) << "one new claim re-read the others";

  // A new volume binds the first waiting claim it fits, reading that claim, not the other waiting ones.
  start = examined();
  json pv = {{"apiVersion", "v1"},
             {"kind", "PersistentVolume"},
             {"metadata", {{"name", "big"}}},
             {"spec",
              {{"capacity", {{"storage", "5Gi"}}},
               {"accessModes", {"ReadWriteOnce"}},
               {"storageClassName", "slow"},
               {"persistentVolumeReclaimPolicy", "Retain"},
               {"hostPath", {{"path", "/tmp/big"}}}}}};
  ASSERT_EQ(http("POST", k.server + "/api/v1/persistentvolumes", pv.dump()).status, 201);
  EXPECT_TRUE(eventually([&] {
    json claim = http("GET", claims + "/claim-000").object();
    return claim.value("status", json::object()).value("phase", "") == "Bound" &&
           claim["spec"].value("volumeName", "") == "big";
  }));
  ASSERT_TRUE(eventually(settled));
  EXPECT_LE(examined() - start, 12) << "binding one volume re-read the waiting claims";
  EXPECT_EQ(http("GET", claims + "/claim-001").object()["status"]["phase"], "Pending");

  // Deleting the bound claim releases its volume, again without reading the others.
  start = examined();
  ASSERT_EQ(http("DELETE", claims + "/claim-000").status, 200);
  EXPECT_TRUE(eventually([&] {
    return http("GET", k.server + "/api/v1/persistentvolumes/big").object()["status"].value("phase", "") == "Released";
  }));
  ASSERT_TRUE(eventually(settled));
  EXPECT_LE(examined() - start, 8) << "releasing one volume re-read the waiting claims";
}

TEST(KubeliteServer, LoadsTheFixtureManifestsAtStart) {
  TempDir dir;
  KubeliteOptions options;
  options.load_dir = testsupport::fixtures_dir() + "/kubernetes/manifests";
  Kubelite k = testsupport::start_kubelite(dir, options);
  EXPECT_EQ(http("GET", k.server + "/apis/apps/v1/namespaces/default/deployments/nginx-deployment").status, 200);
  EXPECT_EQ(http("GET", k.server + "/apis/apps/v1/namespaces/default/statefulsets/web").status, 200);
  EXPECT_EQ(http("GET", k.server + "/apis/batch/v1/namespaces/default/jobs/pi").status, 200);
  Reply secret = http("GET", k.server + "/api/v1/namespaces/default/secrets/secret-basic-auth");
  ASSERT_EQ(secret.status, 200);
  EXPECT_FALSE(secret.object().contains("stringData"));
  EXPECT_TRUE(secret.object()["data"].contains("username"));
  // The CRD sorts before its resources, so they load too.
  EXPECT_EQ(http("GET", k.server + "/apis/stable.example.com/v1/namespaces/default/shirts").object()["items"].size(), 3u);
  EXPECT_EQ(http("GET", k.server + "/apis/apps/v1/deployments").object()["items"].size(), 4u);
}

}  // namespace
