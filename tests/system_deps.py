"""Installs the Debian packages the test suite needs when they are missing (run by `make test`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

# (command that must exist, Debian packages that provide it)
NEEDED: list[tuple[str, list[str]]] = [
    ("chromium", ["chromium"]),  # the end-to-end tests of the web client (tests/e2e)
    # Chinese glyphs in the screenshots of the web client (tests/e2e/screenshots.py)
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", ["fonts-wqy-microhei"]),
    # the QR scanner in WebKit (tests/e2e/test_scan_webkit.py): WebKitGTK's MiniBrowser over WebDriver, on Xvfb
    ("WebKitWebDriver", ["webkit2gtk-driver"]),
    ("Xvfb", ["xvfb"]),
]


def _present(what: str) -> bool:
    """A command on the PATH, or a file given by its absolute path."""
    return os.path.exists(what) if what.startswith("/") else shutil.which(what) is not None


def main() -> int:
    missing = [pkgs for what, pkgs in NEEDED if not _present(what)]
    if not missing:
        return 0
    packages = sorted({p for pkgs in missing for p in pkgs})
    if os.geteuid() != 0:
        print(f"missing Debian packages {packages}; install them as root (apt-get install)", file=sys.stderr)
        return 1
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages], check=True, env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
