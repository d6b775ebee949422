#pragma once
// String tables for arca's API enums: index 0 is the unset value (""), the rest are the exact strings Velero
// writes. to_string()/enum_from_string() work for every enum that has an EnumNames specialisation.
#include <array>
#include <stdexcept>
#include <string>
#include <string_view>

namespace arca::api {

template <class E>
struct EnumNames;

template <class E>
concept NamedEnum = requires { EnumNames<E>::names; };

template <NamedEnum E>
constexpr std::string_view to_string(E value) {
  return EnumNames<E>::names[static_cast<size_t>(value)];
}

// All accepted strings, comma-separated, for error messages.
template <NamedEnum E>
std::string enum_choices() {
  std::string out;
  for (size_t i = 1; i < EnumNames<E>::names.size(); ++i) out += (out.empty() ? "" : ", ") + std::string(EnumNames<E>::names[i]);
  return out;
}

// Throws std::invalid_argument naming the value and the accepted ones.
template <NamedEnum E>
E enum_from_string(std::string_view text) {
  for (size_t i = 0; i < EnumNames<E>::names.size(); ++i) {
    if (EnumNames<E>::names[i] == text) return static_cast<E>(i);
  }
  throw std::invalid_argument("unknown value \"" + std::string(text) + "\" (expected one of " + enum_choices<E>() + ")");
}

}  // namespace arca::api
