// Velero's pkg/podexec ExecutePodCommand defaults and error texts, and its hook tracker's counting, with the
// request recorded instead of sent (the exec protocol itself is tested against kubelite in src/kube).
#include "hooks/pod_exec.h"

#include <gtest/gtest.h>

namespace arca::hooks {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const json kPod = json::parse(R"({"metadata": {"namespace": "ns", "name": "p"},
  "spec": {"containers": [{"name": "first"}, {"name": "second"}]}})");

TEST(ExecutePodCommand, DefaultsAndErrors) {
  kube::ExecRequest seen;
  kube::ExecResult answer;
  Executor exec = [&](const kube::ExecRequest& r) {
    seen = r;
    return answer;
  };
  answer.exit_code = 0;
  answer.stdout_data = "out";
  auto ok = execute_pod_command(exec, kPod, {"h", "", {"true"}, api::HookErrorMode::unset, 0ns});
  EXPECT_EQ(ok.error, "");
  EXPECT_EQ(ok.container, "first");  // no container named: the pod's first
  EXPECT_EQ(ok.stdout_data, "out");
  EXPECT_EQ(seen.namespace_name, "ns");
  EXPECT_EQ(seen.pod, "p");
  EXPECT_EQ(seen.container, "first");
  EXPECT_EQ(seen.timeout, 30s);  // Velero's default

  answer.exit_code = 3;
  auto failed = execute_pod_command(exec, kPod, {"h", "second", {"false"}, api::HookErrorMode::Fail, 2500ms});
  EXPECT_EQ(failed.error, "command terminated with non-zero exit code: 3");
  EXPECT_EQ(seen.container, "second");
  EXPECT_EQ(seen.timeout, 2500ms);

  answer = {};
  answer.timed_out = true;
  EXPECT_EQ(execute_pod_command(exec, kPod, {"h", "", {"sleep", "9"}, {}, 1s}).error, "timed out after 1s");
  answer = {};
  answer.error = "Error from server (BadRequest): container not running";
  EXPECT_EQ(execute_pod_command(exec, kPod, {"h", "", {"x"}, {}, 0ns}).error, answer.error);

  seen = {};
  EXPECT_EQ(execute_pod_command(exec, kPod, {"h", "third", {"x"}, {}, 0ns}).error, "no such container: \"third\"");
  EXPECT_EQ(execute_pod_command(exec, kPod, {"h", "", {}, {}, 0ns}).error, "command is required");
  EXPECT_EQ(execute_pod_command(exec, json::parse(R"({"spec": {"containers": []}})"), {"h", "", {"x"}, {}, 0ns}).error,
            "need at least 1 container");
  EXPECT_TRUE(seen.pod.empty());  // none of those reached the server
}

TEST(HookTracker, CountsLikeVelero) {
  HookTracker t;
  EXPECT_FALSE(t.any());
  auto a = HookTracker::key("ns", "p", "c", "spec", "freeze", "pre");
  auto b = HookTracker::key("ns", "p", "c", "spec", "freeze", "post");
  t.add(a);
  t.add(a);  // the same hook again (two entries of one spec hook for one container): counted once
  t.add(b);
  t.record(a, true);
  t.record(a, false);  // only the first result counts
  t.record(b, false);
  t.record(HookTracker::key("ns", "q", "c", "spec", "x", "pre"), true);  // never added: ignored
  EXPECT_TRUE(t.any());
  EXPECT_EQ(t.status().hooks_attempted, 2);
  EXPECT_EQ(t.status().hooks_failed, 1);
}

TEST(ParseHookCommand, JsonArrayOrWholeText) {
  EXPECT_EQ(parse_hook_command(R"(["a", "b c"])"), (std::vector<std::string>{"a", "b c"}));
  EXPECT_EQ(parse_hook_command("/bin/x a"), std::vector<std::string>{"/bin/x a"});
  EXPECT_EQ(parse_hook_command("[not json"), std::vector<std::string>{"[not json"});
  EXPECT_EQ(parse_hook_command(R"(["a", 1])"), std::vector<std::string>{R"(["a", 1])"});
}

}  // namespace
}  // namespace arca::hooks
