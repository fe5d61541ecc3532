"""The migration runner: the shipped head revision, and Alembic loaded only to upgrade."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from footfall.storage import migrate


def test_head_revision_is_alembics_head() -> None:
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert scripts.get_heads() == [migrate.head_revision()]
    # Revision ids are the files' numbers, so the newest file is the head.
    for script in scripts.walk_revisions():
        assert Path(str(script.path)).name.startswith(f"{script.revision}_")


_OPEN_TWICE = """
import asyncio, sys
from pathlib import Path
from footfall.storage.meta import SqlMetaStore

async def main(path: Path) -> None:
    store = await SqlMetaStore.open(database_url=None, sqlite_path=path)
    await store.close()
    print("alembic" in sys.modules)

asyncio.run(main(Path(sys.argv[1])))
"""


def test_alembic_is_imported_only_when_the_schema_is_behind(tmp_path: Path) -> None:
    def opened_with_alembic() -> bool:
        result = subprocess.run(
            [sys.executable, "-c", _OPEN_TWICE, str(tmp_path / "meta.sqlite3")],
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip() == "True"

    assert opened_with_alembic()  # a fresh database is migrated
    assert not opened_with_alembic()  # a current one is only checked
