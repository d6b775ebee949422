#pragma once
// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it, so that two
// `arca server` replicas never run the same backup: only the holder of the Lease starts the controllers
// (and fails interrupted backups at start-up); the others wait. A leader that cannot renew within the
// renew deadline exits at once, before another replica can take over (client-go's OnStoppedLeading).
// A lease held by a process of this same host that no longer exists is taken over at once.
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "controller/context.h"

namespace arca::controller {

struct LeaseSettings {
  std::string name = "arca-server";
  std::chrono::seconds lease_duration{15};
  std::chrono::seconds renew_deadline{10};
  std::chrono::seconds retry_period{2};
  std::string identity;  // empty: hostname_pid
};

// The holder's decision on a Lease (pure): may `identity` take or keep it at `now`? Free when there is no
// holder, when it is ours, or when the holder's renewTime + leaseDurationSeconds has passed.
bool lease_available(const nlohmann::json& lease, const std::string& identity, Timestamp now);

class Leadership {
 public:
  Leadership(ServerContext& context, LeaseSettings settings);
  ~Leadership();  // stops renewing and releases the Lease so another replica takes over at once
  Leadership(const Leadership&) = delete;
  Leadership& operator=(const Leadership&) = delete;

  // Tries once to take or renew the Lease; true when this replica holds it.
  bool try_acquire_or_renew();
  // Renews in the background; exits the process if the Lease is lost.
  void keep_renewing();
  const std::string& identity() const { return settings_.identity; }

 private:
  ServerContext& ctx_;
  LeaseSettings settings_;
  kube::ApiResource leases_;
  std::atomic<bool> stopping_{false};
  std::thread renewer_;
};

// For run_server: blocks until this replica leads, then keeps renewing. Returns nullptr when SIGTERM/SIGINT
// arrive while waiting (they are blocked in the server, so they are polled here).
std::unique_ptr<Leadership> hold_leadership(ServerContext& context, LeaseSettings settings = {});

}  // namespace arca::controller
