#pragma once
// arca's web console (`arca server --console-address ADDR`): the front end in web/ compiled into the binary, a
// small JSON API and a Server-Sent Events stream fed by the server's informers. Off by default.
#include <memory>
#include <string>

namespace CLI {
class App;
}

namespace arca::controller {
struct ServerContext;
struct ServerOptions;
}  // namespace arca::controller

namespace arca::console {

struct ConsoleOptions {
  std::string address;                  // host:port, ":port" (all interfaces) or host:0; "" = off
  std::string tls_cert_file, tls_key_file;  // both set: HTTPS
};

class Console;
// Starts serving; throws std::runtime_error naming the address when it cannot listen. Stops when destroyed.
std::shared_ptr<Console> start_console(controller::ServerContext& context, const ConsoleOptions& options);

// Adds --console-address, --console-tls-cert and --console-tls-key to `server` (the `arca server` command) and
// registers the console with `options` when an address is given.
void add_console_flags(CLI::App& server, controller::ServerOptions& options);

}  // namespace arca::console
