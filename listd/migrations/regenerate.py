"""Regenerate the initial migration from the models (development only, before the first release).

Until listd is deployed anywhere, the schema is one migration, 0001; after the first release
every change gets a migration of its own with `alembic revision --autogenerate`.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from listd import migrate
from listd.database import Database

VERSIONS = Path(__file__).resolve().parent / "versions"
TARGET = VERSIONS / "0001_initial_schema.py"


def main() -> None:
    TARGET.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        db = Database(f"sqlite:///{scratch}/empty.db")
        migrate.revision(db.engine, "initial schema")
        db.dispose()
    generated = next(p for p in VERSIONS.glob("*_initial_schema.py") if p != TARGET)
    revision = generated.name.split("_", 1)[0]
    text = generated.read_text().replace(revision, "0001")
    text = re.sub(r"Create Date: .*", "Create Date: (regenerated)", text)
    TARGET.write_text(text)
    generated.unlink()
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
