#include "kube/credentials.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <vector>

#include "kube/errors.h"

extern char** environ;

namespace arca::kube {
namespace {

// client-go re-reads a token file at most once a minute (cachingTokenSource), so rotation is noticed.
constexpr std::chrono::seconds kTokenFileRefresh{60};
// A non-interactive plugin that has not answered by then is stuck; better one clear error than a hang.
constexpr std::chrono::seconds kExecTimeout{60};

bool executable_exists(const std::string& command) {
  if (command.find('/') != std::string::npos) return access(command.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (access(((dir.empty() ? "." : dir) + "/" + command).c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  size_t pos = static_cast<size_t>(consumed);
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
  }
  long offset = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int hours = 0, minutes = 0;
    if (std::sscanf(text.c_str() + pos + 1, "%2d:%2d", &hours, &minutes) != 2) return std::nullopt;
    offset = (text[pos] == '+' ? 1 : -1) * (hours * 3600L + minutes * 60L);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  std::time_t seconds = timegm(&tm) - offset;
  // system_clock counts nanoseconds in 64 bits, which ends in 2262: later dates mean "never expires".
  using std::chrono::system_clock;
  if (seconds >= system_clock::to_time_t(system_clock::time_point::max()) - 1) return system_clock::time_point::max();
  return system_clock::from_time_t(seconds);
}

CredentialProvider::CredentialProvider(const RestConfig& config) : cluster_(config.cluster), user_(config.user) {}

void CredentialProvider::invalidate() {
  std::lock_guard lock(mutex_);
  exec_cached_.reset();
  file_token_read_ = {};
}

Credentials CredentialProvider::current() {
  std::lock_guard lock(mutex_);
  Credentials creds;
  creds.bearer_token = user_.token;
  creds.client_certificate = user_.client_certificate;
  creds.client_key = user_.client_key;
  creds.username = user_.username;
  creds.password = user_.password;
  if (!user_.token_file.empty()) {
    auto now = std::chrono::steady_clock::now();
    if (file_token_read_ == std::chrono::steady_clock::time_point{} || now - file_token_read_ > kTokenFileRefresh) {
      std::ifstream in(user_.token_file);
      if (!in) throw config_error("unable to read token file \"" + user_.token_file + "\": " + std::strerror(errno));
      std::ostringstream text;
      text << in.rdbuf();
      file_token_ = trim(text.str());
      file_token_read_ = now;
    }
    // client-go: a token file takes precedence over an inline token.
    creds.bearer_token = file_token_;
  }
  if (user_.exec) {
    // Renew a little early so that a request does not race the expiry.
    if (!exec_cached_ || std::chrono::system_clock::now() + std::chrono::seconds(10) >= exec_expiry_) {
      exec_cached_ = run_exec_plugin();
    }
    if (!exec_cached_->bearer_token.empty()) creds.bearer_token = exec_cached_->bearer_token;
    if (!exec_cached_->client_certificate.empty()) {
      creds.client_certificate = exec_cached_->client_certificate;
      creds.client_key = exec_cached_->client_key;
    }
  }
  return creds;
}

Credentials CredentialProvider::run_exec_plugin() {
  const ExecConfig& exec = *user_.exec;
  std::string name = "exec plugin \"" + exec.command + "\"";
  if (!executable_exists(exec.command)) {
    throw config_error("exec: executable " + exec.command + " not found" +
                       (exec.install_hint.empty() ? "" : " (" + trim(exec.install_hint) + ")"));
  }
  bool stdin_tty = isatty(STDIN_FILENO) != 0;
  bool interactive = exec.interactive_mode == "Always" || (exec.interactive_mode == "IfAvailable" && stdin_tty);
  if (exec.interactive_mode == "Always" && !stdin_tty) {
    throw config_error(name + " needs an interactive terminal (interactiveMode: Always) but standard input is not one");
  }
  nlohmann::json info = {{"kind", "ExecCredential"},
                         {"apiVersion", exec.api_version},
                         {"spec", {{"interactive", interactive}}}};
  if (exec.provide_cluster_info) {
    nlohmann::json cluster = {{"server", cluster_.server}, {"insecure-skip-tls-verify", cluster_.insecure_skip_tls_verify}};
    if (!cluster_.tls_server_name.empty()) cluster["tls-server-name"] = cluster_.tls_server_name;
    if (!cluster_.proxy_url.empty()) cluster["proxy-url"] = cluster_.proxy_url;
    if (!cluster_.certificate_authority.empty()) {
      // Go's []byte marshals to base64; keep the wire format the plugin expects.
      const std::string& in = cluster_.certificate_authority;
      std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
      int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                              reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
      out.resize(static_cast<size_t>(n));
      cluster["certificate-authority-data"] = out;
    }
    info["spec"]["cluster"] = cluster;
  }

  // Build argv and the environment before fork: the child may only call async-signal-safe functions.
  std::vector<std::string> argv_storage = {exec.command};
  argv_storage.insert(argv_storage.end(), exec.args.begin(), exec.args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e; ++e) {
    std::string var = *e;
    bool overridden = var.rfind("KUBERNETES_EXEC_INFO=", 0) == 0;
    for (const auto& [k, v] : exec.env) overridden = overridden || var.rfind(k + "=", 0) == 0;
    if (!overridden) env_storage.push_back(var);
  }
  for (const auto& [k, v] : exec.env) env_storage.push_back(k + "=" + v);
  env_storage.push_back("KUBERNETES_EXEC_INFO=" + info.dump());
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) throw config_error(name + ": pipe: " + std::strerror(errno));
  pid_t pid = fork();
  if (pid < 0) throw config_error(name + ": fork: " + std::strerror(errno));
  if (pid == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    if (!interactive) {
      int null_fd = open("/dev/null", O_RDONLY);
      if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    }
    // stderr stays the caller's: plugins print login prompts and their own errors there, as with kubectl.
    execvpe(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(out_pipe[1]);
  std::string output;
  auto deadline = std::chrono::steady_clock::now() + kExecTimeout;
  bool timed_out = false;
  for (;;) {
    int wait_ms = -1;
    if (!interactive) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(left.count());
    }
    pollfd pfd{out_pipe[0], POLLIN, 0};
    int ready = poll(&pfd, 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;
    char buf[4096];
    ssize_t n = read(out_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buf, static_cast<size_t>(n));
  }
  close(out_pipe[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) throw config_error(name + " did not answer within " + std::to_string(kExecTimeout.count()) + " s");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw config_error(name + " failed: " +
                       (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                          : "killed by signal " + std::to_string(WTERMSIG(status))));
  }

  nlohmann::json cred = nlohmann::json::parse(output, nullptr, false);
  if (!cred.is_object() || cred.value("kind", "") != "ExecCredential") {
    throw config_error(name + " did not print an ExecCredential object");
  }
  if (cred.value("apiVersion", "") != exec.api_version) {
    throw config_error(name + " is configured to use API version " + exec.api_version + ", plugin returned version " +
                       cred.value("apiVersion", "(none)"));
  }
  const nlohmann::json status_json = cred.value("status", nlohmann::json::object());
  Credentials result;
  result.bearer_token = status_json.value("token", "");
  result.client_certificate = status_json.value("clientCertificateData", "");
  result.client_key = status_json.value("clientKeyData", "");
  if (result.bearer_token.empty() && result.client_certificate.empty()) {
    throw config_error(name + " returned neither a token nor a client certificate");
  }
  if (result.client_certificate.empty() != result.client_key.empty()) {
    throw config_error(name + " returned a client certificate without its key (or a key without its certificate)");
  }
  exec_expiry_ = std::chrono::system_clock::time_point::max();
  if (std::string expiry = status_json.value("expirationTimestamp", ""); !expiry.empty()) {
    auto when = parse_rfc3339(expiry);
    if (!when) throw config_error(name + " returned an invalid expirationTimestamp \"" + expiry + "\"");
    exec_expiry_ = *when;
  }
  return result;
}

}  // namespace arca::kube
