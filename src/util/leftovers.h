#pragma once
// Files a killed process leaves behind (a restore spool, a half-written local-store object) carry its process
// id in their name, so that a later process can tell them from those of another live server sharing the
// directory and remove only the abandoned ones.
#include <string>
#include <string_view>

namespace arca {

// "<prefix><pid>-<anything>" → pid, or 0 when `name` is not of that form.
long leftover_owner(std::string_view name, std::string_view prefix);
// Whether no process with that id exists on this host (kill(pid, 0) answers ESRCH).
bool process_gone(long pid);
// Removes (recursively) the entries of `dir` named "<prefix><pid>-..." whose process is gone; returns how many.
// Errors (a missing directory, a file another process removed first) are ignored.
int remove_abandoned(const std::string& dir, std::string_view prefix);

}  // namespace arca
