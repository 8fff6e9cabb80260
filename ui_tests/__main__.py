"""`python -m ui_tests [--out DIR] [--chromium PATH]`: the browser tier (what `python3 dev.py test-ui` runs).

The environment is isolated before Prefect is imported (Prefect reads its settings on import), so the
tier never touches the caller's Prefect profile, server or hub.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from ui_tests.environment import isolate


def main(argv: list[str]) -> int:
    """Parse the options, isolate the environment, run the tier; the exit code is 1 if any check failed."""
    parser = argparse.ArgumentParser(prog="python -m ui_tests", description=__doc__)
    parser.add_argument("--out", type=Path, help="folder for the screenshots (default: under the run's temp folder)")
    parser.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"), help="the chromium binary")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="ui-tier-"))
    isolate(workdir)
    from ui_tests.tier import run  # after isolate(): importing it imports Prefect

    return run(workdir, (args.out or workdir / "screenshots").resolve(), args.chromium)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
