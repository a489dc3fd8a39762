"""A `groupbuy` command that cannot reach its database says so in one line, without a traceback
(finding the embedded server beside `make run` is proved in tests/test_backup.py)."""

from __future__ import annotations

from pathlib import Path

from service.embedded import free_port
from tests.test_backup import cli


def test_unreachable_database_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    closed = f"postgresql://postgres:pw@127.0.0.1:{free_port()}/groupbuy"
    for args in (("migrate",), ("backup", str(tmp_path / "x.dump")),
                 ("tenant", "create", "--slug", "x", "--name", "X", "--admin-email", "a@x.example",
                  "--admin-password", "pw-pw-pw-pw")):
        done = cli(tmp_path, *args, database_url=closed)
        assert done.returncode == 1, done.stderr
        assert "Error: cannot reach the database" in done.stderr
        assert "Traceback" not in done.stderr
