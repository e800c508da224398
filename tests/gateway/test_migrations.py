"""The migrations form one line of history."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from gateway.db import alembic_config


def test_there_is_exactly_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, script.get_heads()
    assert len(script.get_bases()) == 1
