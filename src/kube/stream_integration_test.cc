// Lists that page through thousands of objects, watches that outlive their streams, and an informer
// that converges after its resourceVersion has expired — all against a real kubelite process.
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <optional>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "kube/errors.h"
#include "kube/informer.h"
#include "kube/kube_test_support.h"
#include "kube/watch.h"

namespace arca::kube {
namespace {

using testing::Client;
using testing::config_from;
using testing::config_map;
using testing::namespace_object;

constexpr int kBulkObjects = 10000;

// Manifests for kubelite's --load: one namespace and kBulkObjects ConfigMaps in one multi-document file.
void write_bulk_manifests(const std::string& dir) {
  std::ofstream out(dir + "/bulk.yaml");
  out << "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bulk\n";
  for (int i = 0; i < kBulkObjects; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "cm-%05d", i);
    out << "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " << name
        << "\n  namespace: bulk\n  labels:\n    parity: " << (i % 2 ? "odd" : "even") << "\ndata:\n  index: \"" << i
        << "\"\n";
  }
}

class StreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testsupport::TempDir();
    std::filesystem::create_directories(dir_->file("load"));
    write_bulk_manifests(dir_->file("load"));
    testsupport::KubeliteOptions options;
    options.load_dir = dir_->file("load");
    kubelite_ = new testsupport::Kubelite(testsupport::start_kubelite(*dir_, options));
  }
  static void TearDownTestSuite() {
    delete kubelite_;
    delete dir_;
  }
  void SetUp() override {
    client = std::make_unique<Client>(config_from(kubelite_->kubeconfig));
    cm = client->discovery.resolve("cm");
  }
  static testsupport::TempDir* dir_;
  static testsupport::Kubelite* kubelite_;
  std::unique_ptr<Client> client;
  ApiResource cm;
};
testsupport::TempDir* StreamTest::dir_ = nullptr;
testsupport::Kubelite* StreamTest::kubelite_ = nullptr;

TEST_F(StreamTest, PagesThroughTenThousandItemsInOrderWithKindFilledIn) {
  ListOptions options;
  options.page_size = 500;
  int index = 0;
  size_t delivered = 0;
  bool all_have_kind = true;
  ListSummary summary = client->dynamic.list(cm, "bulk", options, [&](const ListItem& item) {
    ++delivered;
    // Every namespace also holds the kube-root-ca.crt ConfigMap that kubelite's controller creates.
    if (item.name == "kube-root-ca.crt") return;
    char expected[32];
    std::snprintf(expected, sizeof expected, "cm-%05d", index++);
    if (item.name != expected) ADD_FAILURE() << "item " << index << " is " << item.name;
    EXPECT_EQ(item.namespace_name, "bulk");
    EXPECT_FALSE(item.uid.empty());
    // Built-in list items arrive without kind/apiVersion: the client splices them in.
    if (item.json.rfind(R"({"kind":"ConfigMap","apiVersion":"v1",)", 0) != 0) all_have_kind = false;
  });
  EXPECT_TRUE(all_have_kind);
  EXPECT_EQ(index, kBulkObjects);
  EXPECT_EQ(summary.items, delivered);
  EXPECT_EQ(summary.pages, static_cast<size_t>(kBulkObjects / 500 + 1));
  EXPECT_FALSE(summary.resource_version.empty());

  nlohmann::json first;
  options.page_size = 250;
  options.label_selector = "parity=odd";
  size_t odd = 0;
  client->dynamic.list(cm, "bulk", options, [&](const ListItem& item) {
    if (odd++ == 0) first = item.parse();
  });
  EXPECT_EQ(odd, static_cast<size_t>(kBulkObjects / 2));
  EXPECT_EQ(first, client->dynamic.get(cm, "bulk", "cm-00001"));  // the spliced bytes are the object
}

// kubelite keeps the 32 newest list snapshots. After a write (so that they are newer), 40 other paged
// lists push out the snapshot behind a continue token, and the next page of that list answers 410.
void expire_list_snapshots(Client& client) {
  static int bumps = 0;
  client.dynamic.create(client.discovery.resolve("cm"), "default", config_map("default", "bump-" + std::to_string(bumps++)));
  for (int i = 0; i < 40; ++i) {
    HttpRequest request;
    request.path = "/api/v1/namespaces/bulk/configmaps?limit=1";
    ASSERT_EQ(client.transport->send(request).status, 200);
  }
}

TEST_F(StreamTest, ListStartsOverWhenItsContinueTokenExpires) {
  ListOptions options;
  options.page_size = 1000;
  int delivered = 0, restarts_seen = 0;
  bool flooded = false;
  ListSummary summary = client->dynamic.list(
      cm, "bulk", options,
      [&](const ListItem&) {
        ++delivered;
        if (!flooded && delivered == 1000) {
          flooded = true;
          expire_list_snapshots(*client);
        }
      },
      [&] {
        ++restarts_seen;
        delivered = 0;
      });
  EXPECT_EQ(restarts_seen, 1);
  EXPECT_EQ(summary.restarts, 1u);
  EXPECT_EQ(delivered, kBulkObjects + 1);  // + kube-root-ca.crt
  EXPECT_EQ(summary.items, static_cast<size_t>(kBulkObjects + 1));

  // Without a restart handler the 410 reaches the caller as a typed error.
  flooded = false;
  delivered = 0;
  KubeError gone(ErrorKind::UnknownServerError, "");
  try {
    client->dynamic.list(cm, "bulk", options, [&](const ListItem&) {
      if (!flooded && ++delivered == 1000) {
        flooded = true;
        expire_list_snapshots(*client);
      }
    });
  } catch (const KubeError& e) {
    gone = e;
  }
  EXPECT_TRUE(is_gone(gone)) << gone.what();
}

TEST_F(StreamTest, WatchDeliversChangesAfterTheListAndSurvivesStreamEnds) {
  client->dynamic.create(client->discovery.resolve("ns"), "", namespace_object("watched"));
  ListSummary listed = client->dynamic.list(cm, "watched", {}, [](const ListItem&) {});
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::vector<std::string> seen;  // "TYPE name data.k"
  WatchOptions options;
  options.resource_version = listed.resource_version;
  options.timeout_seconds = 1;  // the server ends each stream after a second; the watch must carry on
  std::thread watcher([&] {
    watch(*client->transport, cm, "watched", options,
          [&](const WatchEvent& event) {
            if (event.type == WatchEvent::Type::Bookmark) {
              EXPECT_EQ(event.object["kind"], "ConfigMap");
              return true;
            }
            static const char* names[] = {"ADDED", "MODIFIED", "DELETED"};
            std::lock_guard lock(mutex);
            seen.push_back(std::string(names[static_cast<int>(event.type)]) + " " +
                           event.object["metadata"]["name"].get<std::string>() + " " +
                           event.object["data"].value("k", ""));
            return true;
          },
          &stop);
  });
  std::vector<std::string> expected;
  for (int round = 0; round < 4; ++round) {
    std::string name = "w" + std::to_string(round);
    client->dynamic.create(cm, "watched", config_map("watched", name));
    client->dynamic.patch(cm, "watched", name, PatchType::Merge, R"({"data":{"k":"changed"}})");
    if (round % 2) client->dynamic.remove(cm, "watched", name);
    expected.push_back("ADDED " + name + " v");
    expected.push_back("MODIFIED " + name + " changed");
    if (round % 2) expected.push_back("DELETED " + name + " changed");
    std::this_thread::sleep_for(std::chrono::milliseconds(700));  // spans several 1 s streams
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(mutex);
      if (seen.size() >= expected.size()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop = true;
  watcher.join();
  EXPECT_EQ(seen, expected);  // in order, nothing lost or repeated across reconnects
}

TEST_F(StreamTest, WatchFromAnUnknownOldVersionIsGone) {
  // kubelite was started with --load, whose history is reset: version 1 is long gone.
  KubeError e(ErrorKind::UnknownServerError, "");
  try {
    WatchOptions options;
    options.resource_version = "1";
    watch(*client->transport, cm, "bulk", options, [](const WatchEvent&) { return true; });
  } catch (const KubeError& error) {
    e = error;
  }
  EXPECT_TRUE(is_gone(e)) << e.what();
}

// A watch whose server dies must end with a connection error after a few reconnection attempts,
// never hang.
TEST(Watch, EndsWithAConnectionErrorWhenTheServerIsGone) {
  testsupport::TempDir dir;
  testsupport::Kubelite kubelite = testsupport::start_kubelite(dir);
  Client client(config_from(kubelite.kubeconfig));
  ApiResource ns = client.discovery.resolve("namespaces");
  std::atomic<int> events{0};
  std::optional<KubeError> error;
  std::atomic<bool> finished{false};
  std::thread watcher([&] {
    try {
      watch(*client.transport, ns, "", {}, [&](const WatchEvent&) {
        ++events;
        return true;
      });
    } catch (const KubeError& e) {
      error = e;
    }
    finished = true;
  });
  while (events < 4) std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the initial ADDED events
  kubelite.process.signal(SIGKILL);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!finished && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(finished) << "the watch hangs after its server died";
  watcher.join();
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind(), ErrorKind::Connection) << error->what();
  EXPECT_EQ(std::string(error->what()).rfind("Unable to connect to the server: ", 0), 0u) << error->what();
}

// An informer against a kubelite that keeps almost no watch history: a burst of writes makes its watch
// fall behind (410), and it must re-list and still end up with exactly the server's state.
TEST(Informer, ConvergesAfterItsWatchExpires) {
  testsupport::TempDir dir;
  testsupport::KubeliteOptions options;
  options.extra_args = {"--watch-history", "3"};
  testsupport::Kubelite kubelite = testsupport::start_kubelite(dir, options);
  Client client(config_from(kubelite.kubeconfig));
  ApiResource cm = client.discovery.resolve("cm");
  client.dynamic.create(client.discovery.resolve("ns"), "", namespace_object("inf"));
  for (int i = 0; i < 5; ++i) client.dynamic.create(cm, "inf", config_map("inf", "pre-" + std::to_string(i)));

  InformerOptions informer_options;
  informer_options.watch_timeout_seconds = 1;
  Informer informer(*client.transport, cm, "inf", informer_options);
  std::mutex mutex;
  std::set<std::string> handler_view;  // what the handlers were told, replayed into a set
  informer.add_handlers({[&](const ObjectPtr& o) {
                           std::lock_guard lock(mutex);
                           handler_view.insert(object_key(*o));
                         },
                         nullptr,
                         [&](const ObjectPtr& o) {
                           std::lock_guard lock(mutex);
                           handler_view.erase(object_key(*o));
                         }});
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(std::chrono::seconds(10)));
  EXPECT_GE(informer.size(), 5u);

  // Writes from several threads at full speed overrun a 3-event history.
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      Client writer(config_from(kubelite.kubeconfig));
      for (int i = 0; i < 150; ++i) {
        std::string name = "burst-" + std::to_string(t) + "-" + std::to_string(i);
        writer.dynamic.create(cm, "inf", config_map("inf", name));
        if (i % 3 == 0) writer.dynamic.remove(cm, "inf", name);
      }
    });
  }
  for (auto& w : writers) w.join();
  client.dynamic.remove(cm, "inf", "pre-0");

  std::set<std::string> server_view;
  client.dynamic.list(cm, "inf", {}, [&](const ListItem& item) {
    server_view.insert(std::string(item.namespace_name) + "/" + std::string(item.name));
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto informer_view = [&] {
    std::set<std::string> keys;
    for (const auto& o : informer.list()) keys.insert(object_key(*o));
    return keys;
  };
  while (informer_view() != server_view && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(informer_view(), server_view);
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(handler_view, server_view);
  }
  EXPECT_GE(informer.list_count(), 2u) << "the watch never expired; last error: " << informer.last_error();
  EXPECT_NE(informer.last_error().find("too old resource version"), std::string::npos) << informer.last_error();
  informer.stop();
}

// kube-apiservers restart (upgrades, crashes): an informer must ride through it. kubelite is restarted
// on the same port with the same --data-dir, so the client sees its stream end and the server come back.
TEST(Informer, SurvivesAServerRestart) {
  testsupport::TempDir dir;
  std::string port = std::to_string(testsupport::free_port());
  std::string kubeconfig = dir.file("kubeconfig");
  auto start_server = [&] {
    std::remove(kubeconfig.c_str());
    testsupport::ChildProcess server({testsupport::build_dir() + "/kubelite/kubelite", "--port", port,
                                      "--kubeconfig-out", kubeconfig, "--data-dir", dir.file("data")},
                                     dir.file("kubelite.log"));
    EXPECT_TRUE(testsupport::wait_for_file(kubeconfig, std::chrono::seconds(10))) << server.log();
    return server;
  };
  testsupport::ChildProcess server = start_server();
  Client client(config_from(kubeconfig));
  ApiResource cm = client.discovery.resolve("cm");
  Informer informer(*client.transport, cm, "default");
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(std::chrono::seconds(10)));
  client.dynamic.create(cm, "default", config_map("default", "before"));

  server.stop();
  server = start_server();
  client.dynamic.create(cm, "default", config_map("default", "after"));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((!informer.get("default/before") || !informer.get("default/after")) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(informer.get("default/before"), nullptr);
  EXPECT_NE(informer.get("default/after"), nullptr) << informer.last_error();
  informer.stop();
}

TEST(Informer, ResyncRepeatsEveryObjectToUpdateHandlers) {
  testsupport::TempDir dir;
  testsupport::Kubelite kubelite = testsupport::start_kubelite(dir);
  Client client(config_from(kubelite.kubeconfig));
  ApiResource ns = client.discovery.resolve("namespaces");
  InformerOptions options;
  options.resync_period = std::chrono::milliseconds(200);
  Informer informer(*client.transport, ns, "", options);
  std::atomic<int> resyncs{0};
  informer.add_handlers({nullptr,
                         [&](const ObjectPtr& old_object, const ObjectPtr& new_object) {
                           if (old_object == new_object) ++resyncs;
                         },
                         nullptr});
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(std::chrono::seconds(10)));
  ASSERT_NE(informer.get("default"), nullptr);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (resyncs < 8 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_GE(resyncs.load(), 8);  // two rounds over at least four namespaces
}

}  // namespace
}  // namespace arca::kube
