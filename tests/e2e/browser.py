"""Debian's Chromium driven by Playwright: shared by the browser tests, `make
screenshots` and `make bench-web`. Playwright's own browser downloads are never used."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 860}
MOBILE = {"width": 390, "height": 844}


def chromium_path() -> Path | None:
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium")
    return Path(found) if found else None


def launch(playwright: Playwright) -> Browser:
    path = chromium_path()
    if path is None:
        raise FileNotFoundError("Chromium is not installed (scripts/install-system-deps.sh)")
    return playwright.chromium.launch(executable_path=str(path), args=CHROMIUM_ARGS)
