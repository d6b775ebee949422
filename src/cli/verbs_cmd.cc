// Velero's kubectl-style paths (pkg/cmd/cli/get/get.go, describe/describe.go, create/create.go,
// delete/delete.go): the same commands as under each noun, mounted a second time. `get` and `describe` name
// the kinds in the plural with the singular as an alias; `delete` the other way round.
#include "cli/app.h"

namespace arca::cli {

void add_kubectl_verbs(CLI::App& root, Cli& cli) {
  auto* get = root.add_subcommand("get", "Get velero resources");
  define_backup_get(get->add_subcommand("backups")->alias("backup"), cli);
  define_schedule_get(get->add_subcommand("schedules")->alias("schedule"), cli);
  define_restore_get(get->add_subcommand("restores")->alias("restore"), cli);
  define_location_get(get->add_subcommand("backup-locations")->alias("backup-location"), cli);
  define_snapshot_location_get(get->add_subcommand("snapshot-locations")->alias("snapshot-location"), cli);
  define_plugin_get(get->add_subcommand("plugins")->alias("plugin"), cli);

  auto* describe = root.add_subcommand("describe", "Describe velero resources");
  define_backup_describe(describe->add_subcommand("backups")->alias("backup"), cli);
  define_schedule_describe(describe->add_subcommand("schedules")->alias("schedule"), cli);
  define_restore_describe(describe->add_subcommand("restores")->alias("restore"), cli);

  auto* create = root.add_subcommand("create", "Create velero resources");
  define_backup_create(create->add_subcommand("backup"), cli);
  define_schedule_create(create->add_subcommand("schedule"), cli);
  define_restore_create(create->add_subcommand("restore"), cli);
  define_location_create(create->add_subcommand("backup-location"), cli);
  define_snapshot_location_create(create->add_subcommand("snapshot-location"), cli);

  auto* del = root.add_subcommand("delete", "Delete velero resources");
  define_backup_delete(del->add_subcommand("backup")->alias("backups"), cli);
  define_location_delete(del->add_subcommand("backup-location")->alias("backup-locations"), cli);
  define_restore_delete(del->add_subcommand("restore")->alias("restores"), cli);
  define_schedule_delete(del->add_subcommand("schedule")->alias("schedules"), cli);
}

}  // namespace arca::cli
