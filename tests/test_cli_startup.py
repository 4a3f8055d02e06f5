"""`import declaration_otp.cli` (and the app) stay light.

Every command pays at start-up for whatever cli.py imports at module level, and so does every
`serve --workers N` worker where workers are spawned rather than forked (see worker_processes).
The heavy libraries are imported inside the commands that use them; this checks, in a fresh
interpreter, that they stay there.
"""

from __future__ import annotations

import json
import subprocess
import sys

# Loaded by the commands (migrations, database, registry, outbound HTTP), never by the import.
HEAVY = ("alembic", "sqlalchemy", "sqlmodel", "aiohttp", "declaration_otp.registry")


def test_importing_the_cli_loads_no_heavy_library() -> None:
    probe = (
        "import json, sys, declaration_otp.cli; "
        f"print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == []


def test_importing_the_cli_does_not_read_the_spec() -> None:
    probe = "import sys, declaration_otp.cli; print('declaration_otp.spec' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


def test_workers_do_not_load_alembic() -> None:
    """Workers know the head revision without it (see schema_version)."""
    probe = "import sys, declaration_otp.app; print('alembic' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"
