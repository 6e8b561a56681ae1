"""Make sure the browser the e2e tests drive is present (run by `make test` before pytest).

Debian's `chromium` package is installed when missing and we run as root. In CI a
missing browser is a failure, never a silent skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def find_browser() -> str | None:
    configured = os.environ.get("TANDEM_CHROMIUM")
    if configured and shutil.which(configured):
        return shutil.which(configured)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def main() -> int:
    if find_browser():
        return 0
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print("browser_setup: installing Debian's chromium for the browser tests…", file=sys.stderr)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)  # noqa: S607
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False, env=env)  # noqa: S607
        if find_browser():
            return 0
    print("browser_setup: no Chromium found. Install it (Debian: apt-get install chromium) or set "
          "TANDEM_CHROMIUM; the browser tests fail without it.", file=sys.stderr)
    return 1 if os.environ.get("CI") else 0


if __name__ == "__main__":
    sys.exit(main())
