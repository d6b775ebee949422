#include "console/console.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <thread>

#include "console/assets.h"
#include "console/auth.h"
#include "console/events.h"
#include "console/model.h"
#include "controller/context.h"
#include "controller/locations.h"
#include "controller/protection.h"
#include "controller/server.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "persistence/backup_store.h"
#include "persistence/protection.h"
#include "restore/engine.h"
#include "util/names.h"

namespace arca::console {

using json = nlohmann::json;

namespace {

constexpr const char* kCookie = "arca_console_session";

// No inline script or style anywhere (the front end is files from 'self'), no framing, no referrer.
void security_headers(httplib::Response& res) {
  res.set_header("Content-Security-Policy",
                 "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
                 "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
}

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(body.dump(), "application/json");
}

void error(httplib::Response& res, int status, const std::string& message) { reply(res, status, {{"error", message}}); }

std::string cookie_value(const httplib::Request& req, const std::string& name) {
  std::string header = req.get_header_value("Cookie");
  for (size_t start = 0; start < header.size();) {
    size_t end = std::min(header.find(';', start), header.size());
    std::string part = header.substr(start, end - start);
    part.erase(0, part.find_first_not_of(' '));
    if (part.starts_with(name + "=")) return part.substr(name.size() + 1);
    start = end + 1;
  }
  return "";
}

// An HTTP status for what the API server answered to a write made on the user's behalf.
int status_of(const kube::KubeError& e) {
  int code = e.http_code();
  return code == 409 || code == 422 || code == 404 || code == 400 ? code : 502;
}

}  // namespace

class Console {
 public:
  Console(controller::ServerContext& ctx, const ConsoleOptions& options)
      : ctx_(ctx),
        ns_(ctx.settings.namespace_name),
        auth_(ctx.transport, ctx.discovery, ns_),
        hub_(ctx),
        tls_(!options.tls_cert_file.empty()) {
    if (tls_)
      http_ = std::make_unique<httplib::SSLServer>(options.tls_cert_file.c_str(), options.tls_key_file.c_str());
    else
      http_ = std::make_unique<httplib::Server>();
    if (!http_->is_valid()) throw std::runtime_error("console: cannot load the TLS certificate or key");
    // Every open page holds one thread with its event stream.
    http_->new_task_queue = [] { return new httplib::ThreadPool(64); };
    http_->set_tcp_nodelay(true);
    routes();
    const std::string& address = options.address;
    auto colon = address.rfind(':');
    std::string host = colon == std::string::npos || colon == 0 ? "0.0.0.0" : address.substr(0, colon);
    int port = -1;
    try {
      port = std::stoi(address.substr(colon == std::string::npos ? 0 : colon + 1));
    } catch (const std::exception&) {
      throw std::invalid_argument("invalid --console-address \"" + address + "\": expected [host]:port");
    }
    port = port == 0 ? http_->bind_to_any_port(host) : (http_->bind_to_port(host, port) ? port : -1);
    if (port < 0) throw std::runtime_error("console: cannot listen on " + address);
    url_ = std::string(tls_ ? "https://" : "http://") + (host == "0.0.0.0" ? "127.0.0.1" : host) + ":" +
           std::to_string(port) + "/";
    spdlog::info("console: serving {}", url_);
    listener_ = std::thread([this] { http_->listen_after_bind(); });
  }

  ~Console() {
    stopping_ = true;
    hub_.close_all();
    http_->stop();
    if (listener_.joinable()) listener_.join();
  }

 private:
  using Handler = std::function<void(const Session&, const httplib::Request&, httplib::Response&)>;

  void routes() {
    http_->set_post_routing_handler([](const httplib::Request&, httplib::Response& res) { security_headers(res); });
    auto asset = [](const std::string& path, httplib::Response& res) {
      const Asset* a = find_asset(path);
      if (!a) return error(res, 404, "not found");
      res.set_header("Cache-Control", "no-cache");
      res.set_content(std::string(a->body), std::string(a->content_type));
    };
    http_->Get("/", [asset](const httplib::Request&, httplib::Response& res) { asset("/index.html", res); });
    http_->Get(R"(/assets(/[a-z0-9_.-]+))", [asset](const httplib::Request& req, httplib::Response& res) {
      asset(req.matches[1], res);
    });

    http_->Post("/api/login", [this](const httplib::Request& req, httplib::Response& res) { login(req, res); });
    http_->Get("/api/session", [this](const httplib::Request& req, httplib::Response& res) {
      auto s = session_of(req);
      if (!s) return error(res, 401, "not signed in");
      reply(res, 200, {{"user", s->username}, {"groups", s->groups}, {"csrf", s->csrf}, {"namespace", ns_}});
    });
    write("/api/logout", "POST", {}, [this](const Session& s, const httplib::Request&, httplib::Response& res) {
      auth_.sign_out(s.id);
      res.set_header("Set-Cookie", cookie("", 0));
      reply(res, 200, json::object());
    });
    http_->Get("/api/events", [this](const httplib::Request& req, httplib::Response& res) { events(req, res); });

    read(R"(/api/backups/([a-z0-9.-]+))", {{"get", "backups", "$1"}},
         [this](const Session&, const httplib::Request& req, httplib::Response& res) {
           auto backup = hub_.get("backup", req.matches[1]);
           if (!backup) return error(res, 404, "backup \"" + std::string(req.matches[1]) + "\" not found");
           reply(res, 200, {{"summary", backup_summary(*backup)}, {"object", backup_detail(*backup)}});
         });
    // `arca backup logs` reads them through a DownloadRequest: the same right is asked for here.
    read(R"(/api/backups/([a-z0-9.-]+)/logs)", {{"get", "backups", "$1"}, {"create", "downloadrequests", ""}},
         [this](const Session&, const httplib::Request& req, httplib::Response& res) { logs(req.matches[1], res); });
    // `arca backup download`: the stored tarball as it is (still age-encrypted when its location encrypts).
    read(R"(/api/backups/([a-z0-9.-]+)/download)", {{"get", "backups", "$1"}, {"create", "downloadrequests", ""}},
         [this](const Session&, const httplib::Request& req, httplib::Response& res) { download(req.matches[1], res); });
    read(R"(/api/backups/([a-z0-9.-]+)/resources)", {{"get", "backups", "$1"}, {"create", "downloadrequests", ""}},
         [this](const Session&, const httplib::Request& req, httplib::Response& res) { resources(req.matches[1], res); });
    read(R"(/api/restores/([a-z0-9.-]+))", {{"get", "restores", "$1"}},
         [this](const Session&, const httplib::Request& req, httplib::Response& res) {
           auto restore = hub_.get("restore", req.matches[1]);
           if (!restore) return error(res, 404, "restore \"" + std::string(req.matches[1]) + "\" not found");
           reply(res, 200, {{"summary", restore_summary(*restore)}, {"status", restore->value("status", json::object())}});
         });

    write("/api/backups", "POST", {{"create", "backups", ""}}, [this](const Session&, const httplib::Request& req, httplib::Response& res) {
      create("backups", json(backup_from_form(body(req), ns_)), res);
    });
    write("/api/schedules", "POST", {{"create", "schedules", ""}}, [this](const Session&, const httplib::Request& req, httplib::Response& res) {
      create("schedules", json(schedule_from_form(body(req), ns_)), res);
    });
    write("/api/restores", "POST", {{"create", "restores", ""}}, [this](const Session&, const httplib::Request& req, httplib::Response& res) {
      json form = body(req);
      api::Restore restore = restore_from_form(form, ns_, ctx_.clock.now());
      if (form.value("dryRun", false)) return dry_run(restore, res);
      create("restores", json(restore), res);
    });
    // `arca backup delete`: a DeleteBackupRequest the server acts on.
    write(R"(/api/backups/([a-z0-9.-]+))", "DELETE", {{"create", "deletebackuprequests", ""}},
          [this](const Session&, const httplib::Request& req, httplib::Response& res) {
            std::string name = req.matches[1];
            auto backup = hub_.get("backup", name);
            if (!backup) return error(res, 404, "backup \"" + name + "\" not found");
            api::DeleteBackupRequest request;
            request.metadata.generate_name = name + "-";
            request.metadata.namespace_ = ns_;
            request.metadata.labels["velero.io/backup-name"] = valid_label_value(name);
            request.metadata.labels["velero.io/backup-uid"] = backup->value("/metadata/uid"_json_pointer, std::string());
            request.spec.backup_name = name;
            create("deletebackuprequests", json(request), res);
          });
    // `arca schedule pause|unpause`: the Schedule updated with spec.paused.
    write(R"(/api/schedules/([a-z0-9.-]+)/pause)", "PUT", {{"update", "schedules", "$1"}},
          [this](const Session&, const httplib::Request& req, httplib::Response& res) {
            json form = body(req);
            if (!form.contains("paused") || !form["paused"].is_boolean())
              return error(res, 400, "paused: expected true or false");
            auto resource = ctx_.discovery.lookup("velero.io", "v1", "schedules");
            kube::DynamicClient client(ctx_.transport);
            json schedule = client.get(resource, ns_, std::string(req.matches[1]));
            schedule["spec"]["paused"] = form["paused"];
            client.update(resource, ns_, schedule);
            reply(res, 200, schedule_summary(schedule, ctx_.clock.now()));
          });
  }

  std::string cookie(const std::string& value, int max_age) const {
    return std::string(kCookie) + "=" + value + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
           std::to_string(max_age) + (tls_ ? "; Secure" : "");
  }

  std::optional<Session> session_of(const httplib::Request& req) {
    std::string id = cookie_value(req, kCookie);
    return id.empty() ? std::nullopt : auth_.find(id);
  }

  // A write from another site carries its own Origin: refused, besides the CSRF token it cannot know.
  bool same_origin(const httplib::Request& req) const {
    std::string origin = req.get_header_value("Origin");
    return origin.empty() || origin == std::string(tls_ ? "https://" : "http://") + req.get_header_value("Host");
  }

  static json body(const httplib::Request& req) {
    try {
      return json::parse(req.body);
    } catch (const json::parse_error&) {
      throw std::invalid_argument("the request body is not JSON");
    }
  }

  // Runs `handler` for a signed-in user allowed every access in `needs`; the API server's answers become
  // 4xx/5xx with one line.
  void guarded(const std::vector<Access>& needs, const Handler& handler, const httplib::Request& req,
               httplib::Response& res) {
    auto s = session_of(req);
    if (!s) return error(res, 401, "not signed in");
    try {
      for (Access access : needs) {
        if (access.name == "$1") access.name = req.matches[1];  // the object the path names
        if (!auth_.allowed(*s, access)) return error(res, 403, auth_.forbidden_message(*s, access));
      }
      handler(*s, req, res);
    } catch (const kube::KubeError& e) {
      error(res, status_of(e), e.what());
    } catch (const std::invalid_argument& e) {
      error(res, 400, e.what());
    } catch (const std::exception& e) {
      spdlog::warn("console: {} {}: {}", req.method, req.path, e.what());
      error(res, 500, e.what());
    }
  }

  void read(const std::string& pattern, std::vector<Access> needs, Handler handler) {
    http_->Get(pattern, [this, needs, handler](const httplib::Request& req, httplib::Response& res) {
      guarded(needs, handler, req, res);
    });
  }

  // Writes need the session's CSRF token in X-CSRF-Token (a header a cross-site form cannot set) and JSON.
  void write(const std::string& pattern, const std::string& method, std::vector<Access> needs, Handler handler) {
    auto checked = [this, needs, handler](const httplib::Request& req, httplib::Response& res) {
      auto s = session_of(req);
      if (!s) return error(res, 401, "not signed in");
      if (!same_origin(req) || !constant_time_equal(req.get_header_value("X-CSRF-Token"), s->csrf))
        return error(res, 403, "missing or wrong CSRF token");
      guarded(needs, handler, req, res);
    };
    if (method == "POST") http_->Post(pattern, checked);
    else if (method == "PUT") http_->Put(pattern, checked);
    else http_->Delete(pattern, checked);
  }

  void login(const httplib::Request& req, httplib::Response& res) {
    if (!same_origin(req)) return error(res, 403, "cross-site sign-in refused");
    if (req.get_header_value("Content-Type").find("application/json") != 0)
      return error(res, 415, "expected application/json");
    std::string token;
    try {
      token = json::parse(req.body).value("token", "");
    } catch (const std::exception&) {
      return error(res, 400, "the request body is not JSON");
    }
    std::optional<Session> s;
    try {
      s = auth_.sign_in(token);
    } catch (const std::exception& e) {
      spdlog::warn("console: a sign-in could not be checked: {}", e.what());  // never the token
      return error(res, 502, "the API server could not check the token");
    }
    if (!s) return error(res, 401, "the token was refused by the API server");
    spdlog::info("console: {} signed in", s->username);
    res.set_header("Set-Cookie", cookie(s->id, 8 * 3600));
    reply(res, 200, {{"user", s->username}, {"groups", s->groups}, {"csrf", s->csrf}, {"namespace", ns_}});
  }

  // The stream starts with a snapshot of every kind the user may list, then one frame per change.
  void events(const httplib::Request& req, httplib::Response& res) {
    auto s = session_of(req);
    if (!s) return error(res, 401, "not signed in");
    std::set<std::string> allowed;
    json permissions = json::object();
    try {
      for (const auto& kind : kinds()) {
        bool may = auth_.allowed(*s, {"list", resource_of(kind), ""});
        if (may) allowed.insert(kind);
        permissions[kind] = may;
      }
    } catch (const std::exception& e) {
      return error(res, 502, std::string("access checks failed: ") + e.what());
    }
    auto subscriber = hub_.subscribe(allowed);
    std::string hello = "retry: 2000\nevent: permissions\ndata: " + permissions.dump() + "\n\n";
    const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");  // frames must not wait in a compressor
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, subscriber, hello, first = true](size_t, httplib::DataSink& sink) mutable {
          std::string out = first ? hello : "";
          first = false;
          bool open = !stopping_ && EventHub::next(*subscriber, out, std::chrono::seconds(15));
          if (out.empty()) out = ": keep-alive\n\n";
          if (!sink.write(out.data(), out.size())) return false;
          if (!open) sink.done();
          return true;
        },
        [this, subscriber](bool) { hub_.unsubscribe(subscriber); });
  }

  void create(const std::string& resource, json object, httplib::Response& res) {
    object["apiVersion"] = "velero.io/v1";
    json created = kube::DynamicClient(ctx_.transport).create(ctx_.discovery.lookup("velero.io", "v1", resource), ns_, object);
    reply(res, 201, {{"name", created.value("/metadata/name"_json_pointer, std::string())}});
  }

  std::unique_ptr<controller::OpenLocation> location_of(const json& backup) {
    std::string name = backup.value("/spec/storageLocation"_json_pointer, std::string());
    if (name.empty()) name = ctx_.settings.default_backup_storage_location;
    auto location = kube::DynamicClient(ctx_.transport).get(ctx_.locations, ns_, name).get<api::BackupStorageLocation>();
    return controller::open_location(location, ctx_.transport, ctx_.secrets);
  }

  // One gzip'd file of a backup from its storage location (what `arca backup logs` and `describe --details`
  // fetch through a DownloadRequest); nullopt after answering 404.
  std::optional<std::string> backup_file(const std::string& name, persistence::BackupFile file, const char* what,
                                         httplib::Response& res) {
    auto backup = hub_.get("backup", name);
    if (!backup) {
      error(res, 404, "backup \"" + name + "\" not found");
      return std::nullopt;
    }
    auto open = location_of(*backup);
    auto text = persistence::read_backup_gzip_file(open->store(), open->layout(), name, file);
    if (!text) error(res, 404, "backup \"" + name + "\" has no " + what + " in its storage location");
    return text;
  }

  void logs(const std::string& name, httplib::Response& res) {
    auto text = backup_file(name, persistence::BackupFile::Logs, "logs", res);
    if (!text) return;
    res.set_header("Cache-Control", "no-store");
    res.set_content(*text, "text/plain; charset=utf-8");
  }

  void download(const std::string& name, httplib::Response& res) {
    auto backup = hub_.get("backup", name);
    if (!backup) return error(res, 404, "backup \"" + name + "\" not found");
    std::shared_ptr<controller::OpenLocation> open = location_of(*backup);
    std::string key = persistence::backup_key(open->layout(), name, persistence::BackupFile::Tarball);
    auto head = open->store().head(key);
    if (!head.exists) return error(res, 404, "backup \"" + name + "\" has no tarball in its storage location");
    bool encrypted = !backup->value("/metadata/annotations/arca.dev~1encrypted-to"_json_pointer, std::string()).empty();
    res.set_header("Cache-Control", "no-store");
    res.set_header("Content-Disposition",
                   "attachment; filename=\"" + name + (encrypted ? "-data.tar.gz.age" : "-data.tar.gz") + "\"");
    // Streamed from the store as it arrives: a large tarball is never held in memory.
    res.set_content_provider(head.size, "application/octet-stream",
                             [open, key](size_t offset, size_t, httplib::DataSink& sink) {
                               if (offset != 0) return false;  // one pass, in order
                               open->store().get(key, [&](const char* data, size_t size) { sink.write(data, size); });
                               return true;
                             });
  }

  // The backup's resource list: group/version/kind → namespace/name.
  void resources(const std::string& name, httplib::Response& res) {
    if (auto text = backup_file(name, persistence::BackupFile::ResourceList, "resource list", res))
      reply(res, 200, json::parse(*text));
  }

  // What `arca restore create --dry-run` prints, as JSON: the restore engine run in dry-run mode against the
  // backup's tarball, read straight from its storage location. Secret values are masked in the diffs.
  void dry_run(const api::Restore& restore, httplib::Response& res) {
    auto backup = hub_.get("backup", restore.spec.backup_name);
    if (!backup) return error(res, 404, "backup \"" + restore.spec.backup_name + "\" not found");
    if (backup->value("/status/phase"_json_pointer, std::string()) != "Completed" &&
        backup->value("/status/phase"_json_pointer, std::string()) != "PartiallyFailed")
      return error(res, 409, "backup \"" + restore.spec.backup_name + "\" has not completed");
    // An encrypted backup is read as the restore would read it: decrypted with the key of the Secret the form
    // names, and refused in one line without a matching one.
    std::vector<std::string> identities;
    if (auto recipients = persistence::backup_recipients(backup->dump()); !recipients.empty()) {
      auto secret = restore.metadata.annotations.find(persistence::kAnnotationDecryptionKeySecret);
      if (secret != restore.metadata.annotations.end()) {
        try {
          identities = controller::secret_identities(ctx_, ns_, secret->second);
        } catch (const std::runtime_error& e) {
          return error(res, 400, e.what());
        }
      }
      if (auto problem = persistence::identity_mismatch(restore.spec.backup_name, recipients, identities);
          !problem.empty())
        return error(res, 400, problem);
    }
    auto open = location_of(*backup);
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> log_file(std::tmpfile(), &std::fclose);
    if (!log_file) throw std::runtime_error("cannot create temporary files for the dry run");
    persistence::TempFile tar = persistence::fetch_backup_file(open->store(), open->layout(), restore.spec.backup_name,
                                                               persistence::BackupFile::Tarball, identities);
    restore::RestoreLog log("/proc/self/fd/" + std::to_string(fileno(log_file.get())), ns_ + "/" + restore.metadata.name);
    restore::EngineOptions options;
    options.dry_run = true;
    options.plugin_namespace = ns_;
    restore::RestoreOutcome outcome;
    restore::run_restore(restore, [&](char* b, size_t n) { return std::fread(b, 1, n, tar.get()); }, ctx_.transport,
                         ctx_.discovery, log, options, outcome);
    json items = json::array();
    std::map<std::string, int> counts;
    for (const auto& item : outcome.dry_run) {
      std::string verdict = restore::to_string(item.verdict);
      ++counts[verdict];
      items.push_back({{"id", item.resource_id}, {"verdict", verdict}, {"diff", item.diff}});
    }
    json errors = json::array();
    for (const auto& message : outcome.errors.velero) errors.push_back(message);
    for (const auto& [n, messages] : outcome.errors.namespaces)
      for (const auto& message : messages) errors.push_back(message);
    reply(res, 200, {{"backup", restore.spec.backup_name}, {"items", items}, {"counts", counts}, {"errors", errors}});
  }

  controller::ServerContext& ctx_;
  std::string ns_;
  Authenticator auth_;
  EventHub hub_;
  bool tls_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<httplib::Server> http_;
  std::string url_;
  std::thread listener_;
};

std::shared_ptr<Console> start_console(controller::ServerContext& context, const ConsoleOptions& options) {
  return std::make_shared<Console>(context, options);
}

void add_console_flags(CLI::App& server, controller::ServerOptions& options) {
  static ConsoleOptions console;  // one command line per process
  server.add_option("--console-address", console.address,
                    "Serve the web console on this address, e.g. 127.0.0.1:8086 (default: off)");
  server.add_option("--console-tls-cert", console.tls_cert_file, "PEM certificate of the console (with --console-tls-key: HTTPS)");
  server.add_option("--console-tls-key", console.tls_key_file, "PEM private key of the console's certificate");
  options.services.push_back([](controller::ServerContext& ctx) -> std::shared_ptr<void> {
    if (console.address.empty()) return nullptr;
    if (console.tls_cert_file.empty() != console.tls_key_file.empty())
      throw std::invalid_argument("--console-tls-cert and --console-tls-key go together");
    return start_console(ctx, console);
  });
}

}  // namespace arca::console
