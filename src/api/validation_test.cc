#include "api/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace arca::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(ValidateBackup, EmptySpecIsValid) { EXPECT_THAT(validate_backup_spec({}), IsEmpty()); }

TEST(ValidateBackup, SpecVector7BothSelectorKinds) {
  BackupSpec spec;
  spec.label_selector = parse_label_selector("app=web");
  spec.or_label_selectors = {parse_label_selector("tier=fe")};
  EXPECT_THAT(validate_backup_spec(spec),
              ElementsAre("encountered labelSelector as well as orLabelSelectors in backup spec, only one can be "
                          "specified"));
}

TEST(ValidateBackup, SpecVector8OldAndNewFiltersTogether) {
  BackupSpec spec;
  spec.included_resources = {"pods"};
  spec.included_cluster_scoped_resources = {"storageclasses"};
  auto errors = validate_backup_spec(spec);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("They cannot be used together"));
  EXPECT_TRUE(uses_old_resource_filters(spec));
  EXPECT_TRUE(uses_new_resource_filters(spec));
  BackupSpec cluster_flag_only;
  cluster_flag_only.include_cluster_resources = false;  // an explicit false is an old filter too
  cluster_flag_only.excluded_namespace_scoped_resources = {"secrets"};
  EXPECT_THAT(validate_backup_spec(cluster_flag_only), ElementsAre(HasSubstr("cannot be used together")));
}

TEST(ValidateBackup, SpecVector9StarExcludes) {
  BackupSpec old_mode;
  old_mode.excluded_resources = {"*"};
  EXPECT_THAT(validate_backup_spec(old_mode),
              ElementsAre("Invalid included/excluded resource lists: excludes list cannot contain '*'"));
  BackupSpec new_mode;
  new_mode.excluded_cluster_scoped_resources = {"*"};
  new_mode.included_cluster_scoped_resources = {"persistentvolumes"};
  EXPECT_THAT(validate_backup_spec(new_mode),
              ElementsAre("Invalid cluster-scoped included/excluded resource lists: when exclude is '*', include "
                          "cannot have value"));
}

TEST(ValidateBackup, NamespacesSelectorsAndHooks) {
  BackupSpec spec;
  spec.included_namespaces = {"Prod"};
  spec.label_selector = LabelSelector{{{"bad key!", "x"}}, {}};
  BackupResourceHookSpec hook;
  hook.name = "freeze";
  hook.pre.push_back({});
  spec.hooks.resources.push_back(hook);
  auto errors = validate_backup_spec(spec);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_THAT(errors[0], HasSubstr("Invalid included/excluded namespace lists: invalid namespace \"Prod\""));
  EXPECT_THAT(errors[1], HasSubstr("Invalid labelSelector: label key \"bad key!\""));
  EXPECT_THAT(errors[2], HasSubstr("hook \"freeze\": exec hook needs a non-empty command"));
}

TEST(ValidateRestore, SourceMustBeExactlyOne) {
  const char* kMessage = "Either a backup or schedule must be specified as a source for the restore, but not both";
  EXPECT_THAT(validate_restore_spec({}), ElementsAre(kMessage));
  RestoreSpec both;
  both.backup_name = "b";
  both.schedule_name = "s";
  EXPECT_THAT(validate_restore_spec(both), ElementsAre(kMessage));
  RestoreSpec ok;
  ok.backup_name = "b";
  EXPECT_THAT(validate_restore_spec(ok), IsEmpty());
}

TEST(ValidateRestore, PolicySelectorsAndLists) {
  RestoreSpec spec;
  spec.backup_name = "b";
  spec.existing_resource_policy = "replace";
  spec.excluded_namespaces = {"*"};
  spec.label_selector = LabelSelector{};
  spec.or_label_selectors = {LabelSelector{}};
  auto errors = validate_restore_spec(spec);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0], "Invalid included/excluded namespace lists: excludes list cannot contain '*'");
  EXPECT_THAT(errors[1], HasSubstr("Invalid existing resource policy \"replace\""));
  EXPECT_THAT(errors[2], HasSubstr("orLabelSelectors in restore spec"));
  spec = {};
  spec.backup_name = "b";
  spec.existing_resource_policy = "update";
  EXPECT_THAT(validate_restore_spec(spec), IsEmpty());
}

TEST(ValidateSchedule, CronAndTemplate) {
  Schedule s;
  EXPECT_THAT(validate_schedule(s), ElementsAre("Schedule must be a non-empty valid Cron expression"));
  s.spec.schedule = "0 25 * * *";
  EXPECT_THAT(validate_schedule(s), ElementsAre(HasSubstr("hour: end of range (25) above maximum (23)")));
  s.spec.schedule = "@every 1h";
  s.spec.backup_template.excluded_resources = {"*"};
  EXPECT_THAT(validate_schedule(s), ElementsAre(HasSubstr("excludes list cannot contain '*'")));
  s.spec.backup_template = {};
  EXPECT_THAT(validate_schedule(s), IsEmpty());
}

TEST(ValidateBackupStorageLocation, Rules) {
  BackupStorageLocationSpec spec;
  EXPECT_THAT(validate_backup_storage_location(spec),
              ElementsAre("provider must be specified", "objectStorage.bucket must be specified"));
  spec.provider = "aws";
  spec.object_storage.bucket = "b/sub";
  spec.object_storage.ca_cert = "LS0t";
  spec.object_storage.ca_cert_ref.emplace();
  spec.object_storage.ca_cert_ref->key = "ca.crt";
  EXPECT_THAT(validate_backup_storage_location(spec),
              ElementsAre(HasSubstr("must not contain a '/'"), "cannot specify both caCert and caCertRef in objectStorage"));
  spec.object_storage = {};
  spec.object_storage.bucket = "/velero/";
  EXPECT_THAT(validate_backup_storage_location(spec), IsEmpty());
  spec.object_storage.bucket = "arn:aws:s3:us-east-1:123:accesspoint/ap";
  EXPECT_THAT(validate_backup_storage_location(spec), IsEmpty());
}

}  // namespace
}  // namespace arca::api
