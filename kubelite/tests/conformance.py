#!/usr/bin/env python3
"""Black-box conformance suite for kubelite: one test per item of the checklist in
the Kubernetes API conventions (test_NN_...; item 50 drives the real kubectl), then bad input, field validation,
the server behaviour backup and restore meet (the Kubernetes API conventions; the built-in kinds' REST strategies in kubernetes/pkg/registry), custom resource subresources, persistence and TLS.
Starts $ARCA_BUILD_DIR/kubelite/kubelite on port 0 and talks HTTP to it with the standard library only."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# In checklist order; the modules share one kubelite (conformance_common.SERVER).
MODULES = ["conformance_writes", "conformance_reads", "conformance_server", "conformance_misc"]

if __name__ == "__main__":
    # Arguments name tests as unittest does ("conformance_writes.Create.test_01_..."); none: the whole suite.
    names = sys.argv[1:] or MODULES
    suite = unittest.defaultTestLoader.loadTestsFromNames(names)
    sys.exit(0 if unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful() else 1)
