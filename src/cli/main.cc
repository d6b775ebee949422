// `arca`: the command tree is built in app.cc from one file per command group.
#include "cli/app.h"

int main(int argc, char** argv) { return arca::cli::run_cli(argc, argv); }
