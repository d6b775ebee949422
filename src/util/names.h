#pragma once
// Names Velero derives from other names.
#include <string>
#include <string_view>

#include "util/timestamp.h"

namespace arca {

// Velero's label.GetValidName: a name usable as a label value (velero.io/backup-name, …). Names of at most 63
// characters are unchanged; longer ones become their first 57 characters followed by the first 6 hex
// characters of their SHA-256, so distinct long names stay distinct.
std::string valid_label_value(std::string_view name);

// `<prefix>-YYYYMMDDhhmmss` in UTC, as Velero names scheduled backups (Schedule.TimestampedName) and the CLI
// names backups created from a schedule.
std::string timestamped_name(std::string_view prefix, Timestamp at);

}  // namespace arca
