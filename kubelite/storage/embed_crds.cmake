# Generates OUT (a .cc) defining kubelite::storage::snapshot_crd_yamls() from the YAML files in FILES (a ;-list).
set(body "#include \"kubelite/storage/crds.h\"\nnamespace kubelite::storage {\nstd::vector<const char*> snapshot_crd_yamls() {\n  return {\n")
foreach(file ${FILES})
  file(READ "${file}" text)
  string(APPEND body "R\"kubelite_crd(${text})kubelite_crd\",\n")
endforeach()
string(APPEND body "  };\n}\n}  // namespace kubelite::storage\n")
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
