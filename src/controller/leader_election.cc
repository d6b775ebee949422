#include "controller/leader_election.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "controller/runtime.h"
#include "kube/dynamic.h"
#include "kube/errors.h"

namespace arca::controller {
namespace {

// metav1.MicroTime as the API server writes it.
std::string micro_time(Timestamp t) {
  std::string s = format_rfc3339(t);
  return s.substr(0, s.size() - 1) + ".000000Z";
}

std::string hostname() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return host;
}

std::string default_identity() { return hostname() + "_" + std::to_string(getpid()); }

// A holder named `<this host>_<pid>` whose process is gone (a server killed with -9 and restarted on the same
// machine) cannot renew; waiting out its lease would only delay the recovery of its interrupted backups.
bool holder_dead_on_this_host(const std::string& holder) {
  std::string prefix = hostname() + "_";
  if (holder.rfind(prefix, 0) != 0) return false;
  try {
    size_t used = 0;
    long pid = std::stol(holder.substr(prefix.size()), &used);
    if (used != holder.size() - prefix.size() || pid <= 0) return false;
    return kill(static_cast<pid_t>(pid), 0) == -1 && errno == ESRCH;
  } catch (const std::logic_error&) {
    return false;
  }
}

// SIGTERM/SIGINT are blocked in the server (sigwait takes them later); while waiting for leadership a pending
// one means "give up".
bool stop_signal_pending() {
  sigset_t pending;
  sigpending(&pending);
  return sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT);
}

}  // namespace

bool lease_available(const nlohmann::json& lease, const std::string& identity, Timestamp now) {
  const auto& spec = lease.value("spec", nlohmann::json::object());
  std::string holder = spec.value("holderIdentity", "");
  if (holder.empty() || holder == identity) return true;
  if (!spec.contains("renewTime")) return true;
  auto renewed = parse_rfc3339(spec["renewTime"].get<std::string>());
  return renewed + std::chrono::seconds(spec.value("leaseDurationSeconds", 15)) < now;
}

Leadership::Leadership(ServerContext& ctx, LeaseSettings settings)
    : ctx_(ctx), settings_(std::move(settings)), leases_(ctx.discovery.lookup("coordination.k8s.io", "v1", "leases")) {
  if (settings_.identity.empty()) settings_.identity = default_identity();
}

Leadership::~Leadership() {
  stopping_ = true;
  if (renewer_.joinable()) renewer_.join();
  try {
    update_with_retry(ctx_.transport, leases_, ctx_.settings.namespace_name, settings_.name, [&](nlohmann::json& lease) {
      if (lease["spec"].value("holderIdentity", "") != settings_.identity) return false;
      lease["spec"]["holderIdentity"] = "";
      lease["spec"]["leaseDurationSeconds"] = 1;
      return true;
    });
    spdlog::info("leader election: released lease {}/{}", ctx_.settings.namespace_name, settings_.name);
  } catch (const std::exception& e) {
    spdlog::warn("leader election: could not release the lease: {}", e.what());
  }
}

bool Leadership::try_acquire_or_renew() {
  kube::DynamicClient client(ctx_.transport);
  const std::string& ns = ctx_.settings.namespace_name;
  Timestamp now = ctx_.clock.now();
  nlohmann::json lease;
  try {
    lease = client.get(leases_, ns, settings_.name);
  } catch (const kube::KubeError& e) {
    if (!kube::is_not_found(e)) throw;
    nlohmann::json fresh = {{"apiVersion", "coordination.k8s.io/v1"},
                            {"kind", "Lease"},
                            {"metadata", {{"name", settings_.name}, {"namespace", ns}}},
                            {"spec",
                             {{"holderIdentity", settings_.identity},
                              {"leaseDurationSeconds", settings_.lease_duration.count()},
                              {"acquireTime", micro_time(now)},
                              {"renewTime", micro_time(now)},
                              {"leaseTransitions", 0}}}};
    try {
      client.create(leases_, ns, fresh);
      return true;
    } catch (const kube::KubeError& e2) {
      if (kube::is_already_exists(e2)) return false;  // another replica was quicker
      throw;
    }
  }
  if (!lease_available(lease, settings_.identity, now) &&
      !holder_dead_on_this_host(lease["spec"].value("holderIdentity", "")))
    return false;
  auto& spec = lease["spec"];
  if (spec.value("holderIdentity", "") != settings_.identity) {
    spec["acquireTime"] = micro_time(now);
    spec["leaseTransitions"] = spec.value("leaseTransitions", 0) + 1;
  }
  spec["holderIdentity"] = settings_.identity;
  spec["leaseDurationSeconds"] = settings_.lease_duration.count();
  spec["renewTime"] = micro_time(now);
  try {
    client.update(leases_, ns, lease);  // carries resourceVersion: a concurrent writer makes this a Conflict
    return true;
  } catch (const kube::KubeError& e) {
    if (kube::is_conflict(e)) return false;
    throw;
  }
}

void Leadership::keep_renewing() {
  renewer_ = std::thread([this] {
    auto last_renewed = std::chrono::steady_clock::now();
    while (!stopping_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (std::chrono::steady_clock::now() - last_renewed < settings_.retry_period) continue;
      bool renewed = false;
      try {
        renewed = try_acquire_or_renew();
      } catch (const std::exception& e) {
        spdlog::warn("leader election: renewing failed: {}", e.what());
      }
      if (renewed) {
        last_renewed = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - last_renewed > settings_.renew_deadline) {
        // Another replica may take over after lease_duration; stop everything before it does.
        spdlog::critical("leader election: lost lease {}; exiting", settings_.name);
        std::fflush(nullptr);
        std::_Exit(1);
      }
    }
  });
}

std::unique_ptr<Leadership> hold_leadership(ServerContext& ctx, LeaseSettings settings) {
  const std::string lease = ctx.settings.namespace_name + "/" + settings.name;
  auto leadership = std::make_unique<Leadership>(ctx, std::move(settings));
  bool announced = false;
  for (;;) {
    try {
      if (leadership->try_acquire_or_renew()) break;
    } catch (const std::exception& e) {
      spdlog::warn("leader election: {}", e.what());
    }
    if (!announced) {
      spdlog::info("leader election: waiting for lease {} as {}", lease, leadership->identity());
      announced = true;
    }
    for (int i = 0; i < 10; ++i) {
      if (stop_signal_pending()) return nullptr;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  spdlog::info("leader election: {} leads (lease {})", leadership->identity(), lease);
  leadership->keep_renewing();
  return leadership;
}

}  // namespace arca::controller
