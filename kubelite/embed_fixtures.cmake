# Generates OUT (a .cc) that defines the discovery fixtures as string constants (see discovery_fixtures.h).
file(READ "${AGGREGATED}" aggregated)
file(READ "${CORE}" core)
file(WRITE "${OUT}.tmp" "#include \"kubelite/discovery_fixtures.h\"\nnamespace kubelite {\n"
  "const char* const kAggregatedDiscoveryJson = R\"kubelite_fixture(${aggregated})kubelite_fixture\";\n"
  "const char* const kCoreResourceListJson = R\"kubelite_fixture(${core})kubelite_fixture\";\n}\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
