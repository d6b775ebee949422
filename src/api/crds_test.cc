// Compares arca's generated CRDs with Velero's published ones (fixtures/velero/crds): same names, versions,
// scope, flags, printer columns and — recursively — the same schema, descriptions aside.
#include "api/crds.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>

namespace arca::api {
namespace {

using nlohmann::json;

json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(yaml_to_json(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string text = node.Scalar();
      if (node.Tag() == "!") return text;  // quoted
      if (text == "true") return true;
      if (text == "false") return false;
      if (std::regex_match(text, std::regex("-?[0-9]+"))) return std::stoll(text);
      return text;
    }
    default:
      return nullptr;
  }
}

std::filesystem::path crd_dir() {
  const char* fixtures = std::getenv("ARCA_FIXTURES");
  return std::filesystem::path(fixtures ? fixtures : "testdata") / "velero" / "crds";
}

std::map<std::string, json> published_crds() {
  std::map<std::string, json> out;
  for (const auto& entry : std::filesystem::directory_iterator(crd_dir())) {
    if (entry.path().extension() != ".yaml") continue;
    json crd = yaml_to_json(YAML::LoadFile(entry.path().string()));
    out[crd["metadata"]["name"].get<std::string>()] = crd;
  }
  return out;
}

// Records every difference between two schema trees, ignoring descriptions and the order of `enum` and
// `required` (sets in OpenAPI).
void diff(const std::string& path, const json& expected, const json& actual, std::vector<std::string>& out) {
  if (expected.is_object() && actual.is_object()) {
    for (const auto& [key, value] : expected.items()) {
      if (key == "description") continue;
      if (!actual.contains(key)) {
        out.push_back(path + "/" + key + ": missing in arca's CRD");
        continue;
      }
      diff(path + "/" + key, value, actual[key], out);
    }
    for (const auto& [key, value] : actual.items()) {
      if (key != "description" && !expected.contains(key)) out.push_back(path + "/" + key + ": not in Velero's CRD");
    }
    return;
  }
  bool is_set = path.ends_with("/enum") || path.ends_with("/required");
  if (is_set && expected.is_array() && actual.is_array()) {
    auto sorted = [](json a) {
      std::sort(a.begin(), a.end());
      return a;
    };
    if (sorted(expected) != sorted(actual)) out.push_back(path + ": " + expected.dump() + " != " + actual.dump());
    return;
  }
  if (expected.is_array() && actual.is_array() && expected.size() == actual.size()) {
    for (size_t i = 0; i < expected.size(); ++i) diff(path + "/" + std::to_string(i), expected[i], actual[i], out);
    return;
  }
  if (expected != actual) out.push_back(path + ": expected " + expected.dump() + ", got " + actual.dump());
}

TEST(VeleroCrds, ComparisonNoticesDeepDifferences) {
  json expected = published_crds().at("backups.velero.io")["spec"];
  json changed = expected;
  auto& hooks = changed["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["hooks"];
  hooks["properties"]["resources"]["items"]["properties"]["pre"]["items"]["properties"]["exec"]["properties"]
       ["timeout"]["type"] = "integer";
  hooks["properties"]["resources"]["items"]["properties"].erase("name");
  changed["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]["phase"]["enum"].push_back("X");
  changed["versions"][0]["schema"]["openAPIV3Schema"]["description"] = "descriptions may differ";
  std::vector<std::string> differences;
  diff("spec", expected, changed, differences);
  EXPECT_EQ(differences.size(), 3u) << ::testing::PrintToString(differences);
}

TEST(VeleroCrds, OneGeneratedCrdPerPublishedCrd) {
  auto published = published_crds();
  ASSERT_EQ(published.size(), 13u) << "fixtures at " << crd_dir();
  std::vector<std::string> generated_names;
  for (const auto& crd : velero_crds()) generated_names.push_back(crd["metadata"]["name"]);
  std::vector<std::string> published_names;
  for (const auto& [name, crd] : published) published_names.push_back(name);
  EXPECT_EQ(generated_names, published_names);
}

// Fields Velero 1.19 adds to the 1.18 CRDs of testdata/velero/crds (Velero's main branch,
// pkg/apis/velero/v1/restore_types.go): arca serves them, the published 1.18 schema lacks them.
struct AddedField {
  std::string crd;
  json::json_pointer field;
  std::string type;
};
const std::vector<AddedField> kVelero119Fields = {
    {"restores.velero.io", json::json_pointer("/properties/spec/properties/skipDefaultResourceModifier"), "boolean"},
    {"restores.velero.io", json::json_pointer("/properties/spec/properties/resourcePolicy"), "object"},
    {"backups.velero.io", json::json_pointer("/properties/spec/properties/backupType"), "string"},
    {"schedules.velero.io", json::json_pointer("/properties/spec/properties/template/properties/backupType"), "string"},
    {"datauploads.velero.io", json::json_pointer("/properties/spec/properties/parentSnapshot"), "string"},
};

TEST(VeleroCrds, SameNamesScopeVersionsAndSchemas) {
  auto published = published_crds();
  for (auto crd : velero_crds()) {
    const std::string name = crd["metadata"]["name"];
    for (const auto& [crd_name, field, type] : kVelero119Fields) {
      if (crd_name != name) continue;
      json& schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
      ASSERT_TRUE(schema.contains(field)) << name << " lacks Velero 1.19's " << field.to_string();
      EXPECT_EQ(schema[field]["type"], type);
      schema[field.parent_pointer()].erase(field.back());
    }
    SCOPED_TRACE(name);
    ASSERT_TRUE(published.count(name));
    const json& expected = published[name];
    EXPECT_EQ(crd["apiVersion"], "apiextensions.k8s.io/v1");
    EXPECT_EQ(crd["kind"], "CustomResourceDefinition");
    std::vector<std::string> differences;
    diff("spec", expected["spec"], crd["spec"], differences);
    EXPECT_THAT(differences, ::testing::IsEmpty());
  }
}

TEST(VeleroCrds, SpotChecksOfWellKnownShapes) {
  std::map<std::string, json> by_name;
  for (const auto& crd : velero_crds()) by_name[crd["metadata"]["name"]] = crd;
  const json& bsl = by_name["backupstoragelocations.velero.io"]["spec"];
  EXPECT_EQ(bsl["names"]["shortNames"], json::array({"bsl"}));
  EXPECT_EQ(bsl["versions"][0]["subresources"], json::object());
  const json& backup_schema = by_name["backups.velero.io"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
  EXPECT_EQ(backup_schema["properties"]["spec"]["properties"]["ttl"], json({{"type", "string"}}));
  EXPECT_EQ(backup_schema["properties"]["status"]["properties"]["phase"]["enum"].size(), 13u);
  EXPECT_FALSE(by_name["backups.velero.io"]["spec"]["versions"][0].contains("subresources"));
  const json& du = by_name["datauploads.velero.io"]["spec"];
  EXPECT_EQ(du["versions"][0]["name"], "v2alpha1");
  const json& restore_hooks = by_name["restores.velero.io"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
                                     ["properties"]["spec"]["properties"]["hooks"]["properties"]["resources"]["items"]
                                     ["properties"]["postHooks"]["items"]["properties"]["init"]["properties"]
                                     ["initContainers"];
  EXPECT_EQ(restore_hooks["x-kubernetes-preserve-unknown-fields"], true);
  EXPECT_EQ(restore_hooks["items"]["x-kubernetes-preserve-unknown-fields"], true);
}

}  // namespace
}  // namespace arca::api
