"""The example memos behind the Write tab's "Try an example" (GET /examples, /examples/{name}).

examples/memos in the repository is the only copy. A source checkout (and the
editable install `make install` makes) reads it there; a built wheel carries it
as package data (`memoai_web/example_memos`, pyproject's force-include), so
`pip install memoai && memoai web` offers the same examples. Source mounted over
an installed image (the development compose file) finds the installed copy.
"""

from __future__ import annotations

import importlib.metadata
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Response

_HERE = Path(__file__).resolve().parent
_PACKAGED = _HERE / "example_memos"
_CHECKOUT = _HERE.parents[2] / "examples" / "memos"
LEVELS = ("strong", "medium", "weak")
# Fixed per build: a browser may keep them for a while.
CACHE_CONTROL = "public, max-age=3600"

router = APIRouter(include_in_schema=False)


def _installed() -> Path | None:
    try:
        distribution = importlib.metadata.distribution("memoai")
    except importlib.metadata.PackageNotFoundError:
        return None
    return Path(str(distribution.locate_file("memoai_web/example_memos")))


def memos_dir() -> Path | None:
    for candidate in (_PACKAGED, _CHECKOUT, _installed()):
        if candidate is not None and (candidate / "manifest.json").is_file():
            return candidate
    return None


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, Any]]:
    """Every example by name (the file name without .txt), in the manifest's order."""
    directory = memos_dir()
    if directory is None:
        return {}
    entries: list[dict[str, Any]] = json.loads(
        (directory / "manifest.json").read_text(encoding="utf-8")
    )
    found: dict[str, dict[str, Any]] = {}
    for entry in entries:
        path = directory / str(entry["file"])
        if path.suffix != ".txt" or not path.is_file():
            continue  # a manifest line without its file is skipped, not served as a 500
        found[path.stem] = {
            "name": path.stem,
            "level": entry.get("level"),
            "language": entry.get("language"),
            "topic": entry.get("topic"),
            "words": entry.get("words"),
            "revision_of": entry.get("revision_of"),
            "_path": path,
        }
    return found


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if not k.startswith("_")}


@router.get("/examples")
def list_examples(response: Response) -> dict[str, Any]:
    """The example memos (name, level, language, topic, words), without their text."""
    response.headers["Cache-Control"] = CACHE_CONTROL
    return {"examples": [_public(e) for e in catalogue().values()]}


@router.get("/examples/{name}")
def get_example(name: str, response: Response) -> dict[str, Any]:
    """One example memo with its text; only names from the manifest are served."""
    entry = catalogue().get(name)
    if entry is None:
        raise HTTPException(status_code=404, detail="No example memo by that name.")
    response.headers["Cache-Control"] = CACHE_CONTROL
    text = Path(entry["_path"]).read_text(encoding="utf-8")
    return {**_public(entry), "text": text}
