"""The reliability suite: `make test` runs the default sizes, `make soak` (GROUPBUY_SOAK=1) heavier
ones. Figures of every run go to `<repo>/.data/reliability/*.json` for docs/reliability.md."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

SOAK = os.environ.get("GROUPBUY_SOAK") == "1"
FIGURES = Path(__file__).resolve().parents[2] / ".data" / "reliability"


def record(name: str, figures: dict) -> None:
    """Keeps a run's figures (and prints them, for the log of `make test`)."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    tag = "soak" if SOAK else "default"
    (FIGURES / f"{name}-{tag}.json").write_text(
        json.dumps(figures, indent=2, default=str, ensure_ascii=False)
    )
    print(f"\n[{name}] " + json.dumps(figures, default=str, ensure_ascii=False))


@pytest.fixture
def soak() -> bool:
    return SOAK
