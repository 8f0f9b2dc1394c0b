"""What a wheel needs is inside the package; the unit and the CLI say what they are.

The wheel itself is built and run in a fresh venv by .ci/wheel-smoke (too slow for the suite).
"""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import listd
from listd import migrate
from listd.config import BUILTIN_LIST_TEMPLATES
from tests.conftest import CLI

PACKAGE = Path(listd.__file__).resolve().parent
REPO = PACKAGE.parent


def test_version(listd_cli: CLI) -> None:
    result = listd_cli.ok("--version")
    assert result.stdout.strip() == f"listd {importlib.metadata.version('listd')}"


def test_migrations_and_list_templates_are_inside_the_package() -> None:
    assert migrate.MIGRATIONS.is_relative_to(PACKAGE)
    assert (migrate.MIGRATIONS / "env.py").is_file()
    assert BUILTIN_LIST_TEMPLATES.is_relative_to(PACKAGE)
    assert {"newsletter", "discussion"} <= {p.stem for p in BUILTIN_LIST_TEMPLATES.glob("*.yaml")}


def test_package_data_names_every_data_file_in_the_package() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    globs = project["tool"]["setuptools"]["package-data"]["listd"]
    data = [p for p in PACKAGE.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")
            and "__pycache__" not in p.parts]
    unshipped = [str(p.relative_to(PACKAGE)) for p in data
                 if not any(p.relative_to(PACKAGE).match(g) for g in globs)]
    assert data and unshipped == []
    assert isinstance(project["project"]["license"], str)


def test_the_unit_points_at_files_the_wheel_installs() -> None:
    unit = (REPO / "listd.service").read_text()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    shipped = {f"/opt/listd/{prefix}/{Path(name).name}"
               for prefix, names in project["tool"]["setuptools"]["data-files"].items()
               for name in names}
    docs = [line.split("=", 1)[1] for line in unit.splitlines()
            if line.startswith("Documentation=")]
    assert docs and all(doc.removeprefix("file://") in shipped for doc in docs)
    assert "\nUMask=0027\n" in unit
    assert "pip install listd-" in unit
