"""An embedded server does not load what only cluster mode or migrations need (its memory)."""

from __future__ import annotations

import subprocess
import sys


def test_the_embedded_server_modules_load_neither_redis_nor_alembic() -> None:
    probe = (
        "import sys, footfall.app, footfall.services, footfall.cli.main; "
        "print(sorted(m for m in ('redis', 'alembic', 'asyncpg') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
