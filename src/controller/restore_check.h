#pragma once
// Scheduled restore tests: a Schedule annotated arca.dev/restore-test-every=N (`schedule create
// --restore-test-every N`) has every Nth of its finished backups restored in dry-run mode into mapped namespaces
// (NS → NS-restore-test): the tarball is read (decrypted with the Schedule's arca.dev/decryption-key-secret when the
// backup is encrypted) and every item goes through the restore engine against the live cluster, changing nothing.
// The outcome is on the Backup (kAnnotationRestoreTest, shown by `backup describe`) and counted in
// arca_backup_verification_total with result RestoreTestPassed or RestoreTestFailed.
#include <string>

#include "controller/context.h"
#include "controller/runtime.h"

namespace arca::controller {

inline constexpr const char* kAnnotationRestoreTestEvery = "arca.dev/restore-test-every";  // on the Schedule
// On each finished backup of such a schedule, JSON: {"ordinal": K, "result": "Passed"|"Failed"|"NotDue",
// "message", "time", "namespaces"}. K counts the schedule's backups: 1 + the highest K given so far, which the
// Schedule keeps (kAnnotationRestoreTestsNumbered) so that deleting its newest backup does not hand K out again.
inline constexpr const char* kAnnotationRestoreTest = "arca.dev/restore-test";
inline constexpr const char* kAnnotationRestoreTestsNumbered = "arca.dev/restore-tests-numbered";  // on the Schedule
inline constexpr const char* kRestoreTestSuffix = "-restore-test";

// "NS-restore-test", cut to a valid namespace name (63 characters).
std::string restore_test_namespace(const std::string& ns);
// One line for `backup describe` from the annotation's JSON; "" when there is none.
std::string describe_restore_test(const std::string& annotation);

ReconcileFn restore_check_reconciler(ServerContext& ctx);

}  // namespace arca::controller
