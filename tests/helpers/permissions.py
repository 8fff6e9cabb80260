"""Running a piece of the product where file permissions bind it, also when the suite runs as root (CI does).

Root reads any file (the CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH capabilities), so a test about an
unreadable file would prove nothing as root. `bound_by_permissions` runs a Python snippet in a child process
that keeps uid 0 but has dropped those two capabilities (util-linux's `setpriv`), so a file with mode 000 is
unreadable to it, as to any user; as another user the snippet runs as it is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.helpers.hub import ROOT

DROP = "-dac_override,-dac_read_search"
# Runs `CALL` (a snippet that sets `result`) and prints its outcome as JSON: the value, or the error's type and text.
RUNNER = """
import json, sys
args = json.loads(sys.argv[1])
try:
{call}
    print(json.dumps({{"error": None, "result": result}}))
except Exception as exc:
    print(json.dumps({{"error": type(exc).__name__, "text": str(exc)}}))
"""


def permission_bound_prefix() -> list[str]:
    """The command prefix that makes file permissions bind a child: `setpriv` dropping the two capabilities
    as root, nothing otherwise."""
    return ["setpriv", f"--bounding-set={DROP}", f"--inh-caps={DROP}"] if os.geteuid() == 0 else []


def bound_by_permissions(call: str, args: Any, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `call` (Python statements, indented by four spaces, that read `args` and set `result`) in a child
    bound by file permissions; returns `{"error": None, "result": ...}` or `{"error": "<type>", "text": ...}`."""
    script = RUNNER.format(call=call)
    completed = subprocess.run(
        [*permission_bound_prefix(), sys.executable, "-c", script, json.dumps(args)],
        cwd=ROOT, env=env or dict(os.environ), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])
