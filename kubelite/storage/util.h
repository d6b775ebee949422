#pragma once
// Small helpers shared by the storage controllers (not a public interface).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace kubelite::storage {

using json = nlohmann::json;

// obj[a][b]... as a string, "" when any step is missing or not a string.
std::string str(const json& obj, std::initializer_list<const char*> path);
// "<ns>/<name>" or "<name>" of an object.
std::string key_of(const json& object);

bool has_finalizer(const json& object, const std::string& f);
void add_finalizer(json& object, const std::string& f);
void drop_finalizer(json& object, const std::string& f);

// Go's %q of a string (what the real controllers wrap errors in).
std::string go_quote(const std::string& s);

// A resource.Quantity in bytes ("1Gi", "500M", "1073741824"); 0 when malformed.
uint64_t quantity_bytes(const std::string& q);
// resource.NewQuantity(bytes, BinarySI).String(): "1Gi", "272Ki", "1500".
std::string binary_quantity(uint64_t bytes);
// RFC 3339 (seconds) of a Unix time in nanoseconds: how the snapshot controller turns a content's creationTime into
// the VolumeSnapshot's.
std::string rfc3339_from_nanos(int64_t nanos);
int64_t now_nanos();

}  // namespace kubelite::storage
