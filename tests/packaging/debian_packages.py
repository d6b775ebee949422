"""scripts/debian-packages read the way scripts/install-deps.sh reads it, for the packaging tests."""
import os


def package_sets(source):
    """set name → the packages of that set."""
    sets = {}
    with open(os.path.join(source, "scripts/debian-packages")) as f:
        for line in f:
            fields = line.split()
            if len(fields) == 2 and not line.startswith("#"):
                sets.setdefault(fields[0], set()).add(fields[1])
    return sets
