"""The README tells the truth about the settings and the make targets."""

from __future__ import annotations

import re

from gateway.config import Settings
from tests.conftest import REPO_ROOT


def test_every_setting_is_in_the_configuration_table() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", readme, flags=re.MULTILINE))
    assert set(Settings.model_fields) <= documented, set(Settings.model_fields) - documented


def test_the_commands_it_gives_exist_in_the_makefile() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    for target in ("run", "test", "proto", "bench", "lint"):
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), target
