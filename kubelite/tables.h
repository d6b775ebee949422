#pragma once
// Server-side printing: the meta.k8s.io/v1 Table that `kubectl get` asks for (k8s.io/apiserver's handlers).
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "kubelite/registry.h"

namespace kubelite {

// True when an Accept header asks for as=Table.
bool wants_table(const std::string& accept);

// The column definitions of a resource: the real printers' columns for a few common kinds, the CRD's
// additionalPrinterColumns, else the default Name / Created At.
nlohmann::json table_columns(const ResourceInfo& r);
// One row (cells + PartialObjectMetadata) for `object` (apiVersion/kind not needed).
nlohmann::json table_row(const ResourceInfo& r, const nlohmann::json& object);

}  // namespace kubelite
