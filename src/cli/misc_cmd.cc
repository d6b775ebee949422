// `arca version` (Velero's pkg/cmd/cli): the client's version and, through a ServerStatusRequest, the server's;
// `arca client config`; the scripts of `arca completion`.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "util/duration.h"

#include "api/types.h"
#include "cli/app.h"
#include "cli/day2_commands.h"
#include "kube/dynamic.h"
#include "util/version.h"

namespace arca::cli {

api::ServerStatusRequest server_status(Session& s, std::chrono::seconds timeout) {
  kube::DynamicClient client(s.transport());
  auto resource = s.velero("serverstatusrequests");
  nlohmann::json request = {{"apiVersion", "velero.io/v1"},
                            {"kind", "ServerStatusRequest"},
                            {"metadata", {{"generateName", "velero-cli-"}, {"namespace", s.ns()}}}};
  std::string name = client.create(resource, s.ns(), request)["metadata"]["name"];
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto current = client.get(resource, s.ns(), name).get<api::ServerStatusRequest>();
    if (current.status.phase == api::ServerStatusRequestPhase::Processed) return current;
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("timed out waiting for server status request to be processed");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

int version(Session& s, bool client_only, std::chrono::seconds timeout, std::ostream& out) {
  out << "Client:\n\tVersion: v" << arca::version() << "\n";
  if (client_only) return 0;
  std::string server;
  try {
    server = server_status(s, timeout).status.server_version;
  } catch (const std::exception& e) {
    out << "<error getting server version: " << e.what() << ">\n";
    return 0;
  }
  out << "Server:\n\tVersion: " << server << "\n";
  return 0;
}

}  // namespace arca::cli

namespace arca::cli {

std::string client_config_path() {
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.config/velero/config.json";
}

std::map<std::string, std::string> read_client_config(std::ostream& warnings) {
  std::map<std::string, std::string> config;
  std::ifstream in(client_config_path());
  if (!in) return config;  // no file: nothing configured
  try {
    auto j = nlohmann::json::parse(in);
    for (const auto& [k, v] : j.items())
      if (v.is_string()) config[k] = v.get<std::string>();
  } catch (const std::exception& e) {
    warnings << "WARNING: Error reading config file: " << e.what() << "\n";
  }
  return config;
}

int client_config_set(const std::vector<std::string>& assignments, std::ostream& out, std::ostream& err) {
  auto config = read_client_config(err);
  for (const auto& a : assignments) {
    auto eq = a.find('=');
    if (eq == std::string::npos || a.find('=', eq + 1) != std::string::npos) {
      err << "WARNING: Ignoring invalid key/value pair " << a << " (expected KEY=VALUE)\n";
      continue;
    }
    std::string key = a.substr(0, eq), value = a.substr(eq + 1);
    if (value.empty())
      config.erase(key);
    else
      config[key] = value;
  }
  auto path = std::filesystem::path(client_config_path());
  std::filesystem::create_directories(path.parent_path());
  std::filesystem::permissions(path.parent_path(), std::filesystem::perms::owner_all);
  {
    std::ofstream file(path, std::ios::trunc);
    if (!file) throw std::runtime_error("cannot write " + path.string());
    file << nlohmann::json(config).dump() << "\n";
  }
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return 0;
}

int client_config_get(const std::vector<std::string>& keys, std::ostream& out, std::ostream& err) {
  auto config = read_client_config(err);
  if (keys.empty()) {
    for (const auto& [k, v] : config) out << k << ": " << v << "\n";
    return 0;
  }
  for (const auto& k : keys) {
    auto it = config.find(k);
    out << k << ": " << (it == config.end() ? "<NOT SET>" : it->second) << "\n";
  }
  return 0;
}

}  // namespace arca::cli

namespace arca::cli {
namespace {

// What follows `path` as one space-separated list: subcommands, then --flags.
std::string words_after(const CompletionEntry& entry) {
  std::string list;
  for (const auto& w : entry.words) list += (list.empty() ? "" : " ") + w.name;
  for (const auto& f : entry.flags) list += (list.empty() ? "--" : " --") + f.name;
  return list;
}

// Command paths and words are CLI11 names ([a-z-]); descriptions are free text, so quoted for the shell.
std::string single_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// fish's single quotes take \' and \\ as escapes, unlike POSIX shells.
std::string fish_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// The flags of `path` and of the commands above it (global flags such as --namespace) whose next word is their
// value, as " --a --b -n " (empty when none), for the scripts to skip values and complete them as file names.
std::string valued_flags(const CompletionTree& tree, std::string path) {
  std::string list;
  for (;;) {
    if (auto entry = tree.find(path); entry != tree.end())
      for (const auto& f : entry->second.flags)
        if (f.takes_value) list += " --" + f.name + (f.short_name.empty() ? "" : " -" + f.short_name);
    auto space = path.rfind(' ');
    if (space == std::string::npos) break;
    path.resize(space);
  }
  return list.empty() ? "" : list + " ";
}

std::string bash_script(const CompletionTree& tree) {
  std::string words, valued;
  for (const auto& [path, entry] : tree) {
    words += "  [\"" + path + "\"]=\"" + words_after(entry) + "\"\n";
    valued += "  [\"" + path + "\"]=\"" + valued_flags(tree, path) + "\"\n";
  }
  return "# arca bash completion: source <(arca completion bash)\ndeclare -A _arca_words=(\n" + words +
         ")\ndeclare -A _arca_valued=(\n" + valued + R"()
_arca() {
  local path=arca i w cur=${COMP_WORDS[COMP_CWORD]}
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    if [[ ${_arca_valued["$path"]} == *" $w "* ]]; then ((i++)); continue; fi  # a flag and its value
    [[ -n ${_arca_words["$path $w"]+x} ]] && path="$path $w"
  done
  if ((COMP_CWORD > 1)) && [[ ${_arca_valued["$path"]} == *" ${COMP_WORDS[COMP_CWORD-1]} "* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))  # a flag's value: a file name is the one guess that helps
    return
  fi
  COMPREPLY=($(compgen -W "${_arca_words["$path"]}" -- "$cur"))
}
complete -F _arca arca
)";
}

// The same walk as bash over zsh's $words/$CURRENT; compadd filters by what is typed. ($path is zsh's
// $PATH array, hence $cmd.)
std::string zsh_script(const CompletionTree& tree) {
  std::string words, valued;
  for (const auto& [path, entry] : tree) {
    words += "  " + single_quoted(path) + " " + single_quoted(words_after(entry)) + "\n";
    valued += "  " + single_quoted(path) + " " + single_quoted(valued_flags(tree, path)) + "\n";
  }
  return "#compdef arca\n"
         "# arca zsh completion: source <(arca completion zsh) after compinit, or save it as _arca in a directory\n"
         "# of $fpath.\n"
         "typeset -gA _arca_words _arca_valued\n_arca_words=(\n" +
         words + ")\n_arca_valued=(\n" + valued + R"()
_arca() {
  local cmd=arca next i
  for (( i = 2; i < CURRENT; i++ )); do
    if [[ ${_arca_valued[$cmd]} == *" ${words[i]} "* ]]; then (( ++i )); continue; fi  # a flag and its value
    next="$cmd ${words[i]}"
    (( ${+_arca_words[$next]} )) && cmd=$next
  done
  if (( CURRENT > 2 )) && [[ ${_arca_valued[$cmd]} == *" ${words[CURRENT-1]} "* ]]; then
    _files  # a flag's value: a file name is the one guess that helps
    return
  fi
  compadd -- ${=_arca_words[$cmd]}
}
if [[ $funcstack[1] == _arca ]]; then
  _arca "$@"
else
  compdef _arca arca
fi
)";
}

// fish has no associative arrays: one `complete` line per word, conditioned on the command path of the line.
std::string fish_script(const CompletionTree& tree) {
  std::string script =
      "# arca fish completion: arca completion fish | source, or save it as ~/.config/fish/completions/arca.fish\n"
      "set -g __arca_commands";
  for (const auto& [path, entry] : tree)
    if (path != "arca") script.append(" ").append(fish_quoted(path));
  script += R"(
function __arca_command_path
    set -l cmd arca
    for token in (commandline -opc)[2..-1]
        if contains -- "$cmd $token" $__arca_commands
            set cmd "$cmd $token"
        end
    end
    echo $cmd
end
function __arca_at
    test (__arca_command_path) = "$argv[1]"
end
)";
  for (const auto& [path, entry] : tree) {
    std::string at = fish_quoted("__arca_at \"" + path + "\"");
    for (const auto& w : entry.words)
      script.append("complete -c arca -f -n ").append(at).append(" -a ").append(fish_quoted(w.name))
          .append(" -d ").append(fish_quoted(w.description)).append("\n");
    for (const auto& f : entry.flags)
      script.append("complete -c arca -n ").append(at).append(" -l ").append(fish_quoted(f.name))
          .append(f.short_name.empty() ? "" : " -s " + fish_quoted(f.short_name))
          .append(f.takes_value ? " -r -d " : " -d ").append(fish_quoted(f.description)).append("\n");
  }
  return script;
}

}  // namespace

const std::vector<std::string>& completion_shells() {
  static const std::vector<std::string> shells = {"bash", "zsh", "fish"};
  return shells;
}

std::string completion_script(const CompletionTree& tree, const std::string& shell) {
  if (shell == "bash") return bash_script(tree);
  if (shell == "zsh") return zsh_script(tree);
  if (shell == "fish") return fish_script(tree);
  throw std::invalid_argument("unsupported shell \"" + shell + "\": expected bash, zsh or fish");
}

namespace {

// Every command path ("arca", "arca backup", "arca backup create", ...) with what may follow it.
void completion_tree(const CLI::App& command, const std::string& path, CompletionTree& tree) {
  auto& entry = tree[path];
  for (const auto* sub : command.get_subcommands({})) {
    entry.words.push_back({sub->get_name(), sub->get_description(), "", false});
    completion_tree(*sub, path + " " + sub->get_name(), tree);
  }
  for (const auto* option : command.get_options({})) {
    const auto& longs = option->get_lnames();
    const auto& shorts = option->get_snames();
    for (size_t i = 0; i < longs.size(); ++i)
      entry.flags.push_back({longs[i], option->get_description(), i == 0 && !shorts.empty() ? shorts[0] : "",
                             option->get_expected_min() > 0});
  }
}

void add_completion_command(CLI::App& app, Cli& cli) {
  auto* completion = app.add_subcommand("completion", "Output shell completion code for the specified shell (bash, zsh or fish)");
  auto& shell = cli.make<std::string>();
  completion->add_option("SHELL", shell, "bash, zsh or fish")->required()->check(CLI::IsMember(completion_shells()));
  completion->callback([&app, &cli, &shell] {
    cli.action = [&app, &shell] {
      CompletionTree tree;
      completion_tree(app, "arca", tree);
      for (const auto& name : completion_shells()) tree["arca completion"].words.push_back({name, name + " completion", "", false});
      std::cout << completion_script(tree, shell);
      return 0;
    };
  });
}

}  // namespace

void add_misc_commands(CLI::App& root, Cli& cli) {
  struct VersionFlags {
    bool client_only = false;
    std::string timeout = "5s";
  };
  auto& v = cli.make<VersionFlags>();
  auto* version_cmd = root.add_subcommand("version", "Print the arca version and associated image");
  bool_flag(version_cmd, "--client-only", v.client_only, "Only get velero client version, not server version");
  duration_flag(version_cmd, "--timeout", v.timeout, "Maximum time to wait for server version to be reported.");
  version_cmd->callback([&v, &cli] {
    auto timeout = std::chrono::duration_cast<std::chrono::seconds>(parse_duration(v.timeout));
    cli.run([&v, timeout](Session& s) { return version(s, v.client_only, timeout, std::cout); });
  });

  auto& words = cli.make<std::vector<std::string>>();
  auto* client = root.add_subcommand("client", "Velero client related commands");
  auto* config = client->add_subcommand("config", "Get and set client configuration file values");
  auto* set = config->add_subcommand("set", "Set client configuration file values");
  set->add_option("KEY=VALUE", words, "Values to set")->required();
  set->callback([&words, &cli] { cli.action = [&words] { return client_config_set(words, std::cout, std::cerr); }; });
  auto* get = config->add_subcommand("get", "Get client configuration file values");
  get->add_option("KEY", words, "Keys to show (all when none)");
  get->callback([&words, &cli] { cli.action = [&words] { return client_config_get(words, std::cout, std::cerr); }; });

  add_completion_command(root, cli);

  auto* bug = root.add_subcommand("bug", "Report an arca bug");
  bug->callback([&cli] { cli.action = [] { return bug_report(std::cout); }; });

  auto& d = cli.make<DebugOptions>();
  auto* debug = root.add_subcommand("debug", "Generate debug bundle");
  string_flag(debug, "--output", d.output,
              "The path of the bundle tarball, by default it's ./bundle-YYYY-MM-DD-HH-MM-SS.tar.gz. Optional");
  string_flag(debug, "--backup", d.backup,
              "The name of the backup resource whose log will be packaged into the debug bundle");
  string_flag(debug, "--restore", d.restore,
              "The name of the restore resource whose log will be packaged into the debug bundle");
  bool_flag(debug, "--verbose", d.verbose, "When it's set to true the debug messages by crashd will be printed during execution. Default value is false.");
  debug->callback([&d, &cli] { cli.run([&d](Session& s) { return debug_bundle(s, d, std::cout); }); });
}

}  // namespace arca::cli
