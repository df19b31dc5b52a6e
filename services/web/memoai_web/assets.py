"""Static files under a content-hashed URL, so browsers may cache them for a year.

Every URL carries one version for the whole bundle (a hash of all files). ES
modules import each other by relative path, so they inherit the prefix and a
release can never mix old and new modules.

Third-party assets (fonts now, a chart library later) come from npm at set-up
time (`make install` runs `npm ci`) and are served from node_modules by name;
nothing third-party is committed. When node_modules is missing the page still
works, with the system's fonts.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"
NODE_MODULES = Path(__file__).resolve().parents[3] / "node_modules"
IMMUTABLE = "public, max-age=31536000, immutable"

# URL name under {static}/vendor/ -> file in node_modules (package.json pins versions).
VENDOR: dict[str, str] = {
    "inter.woff2": "@fontsource-variable/inter/files/inter-latin-wght-normal.woff2",
    "source-serif.woff2": (
        "@fontsource-variable/source-serif-4/files/source-serif-4-latin-wght-normal.woff2"
    ),
    "source-serif-italic.woff2": (
        "@fontsource-variable/source-serif-4/files/source-serif-4-latin-wght-italic.woff2"
    ),
}


def _files(static_root: Path, vendor_root: Path) -> list[tuple[str, Path]]:
    own = [(p.relative_to(static_root).as_posix(), p) for p in static_root.rglob("*")]
    vendor = [(f"vendor/{name}", vendor_root / rel) for name, rel in VENDOR.items()]
    return sorted((name, path) for name, path in own + vendor if path.is_file())


def bundle_version(static_root: Path = STATIC_DIR, vendor_root: Path = NODE_MODULES) -> str:
    digest = hashlib.sha256()
    for name, path in _files(static_root, vendor_root):
        digest.update(name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def modules(root: Path = STATIC_DIR) -> list[str]:
    """Every ES module, relative to the static root, for <link rel="modulepreload">."""
    return sorted(p.relative_to(root).as_posix() for p in (root / "js").rglob("*.js"))


def _media_type(path: Path) -> str | None:
    # The system's MIME table may not know web fonts.
    return {".woff2": "font/woff2", ".js": "text/javascript"}.get(path.suffix)


def vendor_available(vendor_root: Path = NODE_MODULES) -> bool:
    return all((vendor_root / rel).is_file() for rel in VENDOR.values())


class VersionedStatic(StaticFiles):
    """The app's own files, then the whitelisted npm files under vendor/."""

    def __init__(self, *, directory: Path, vendor_root: Path = NODE_MODULES) -> None:
        super().__init__(directory=directory)
        self.vendor_root = vendor_root

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path.startswith("vendor/"):
            rel = VENDOR.get(path.removeprefix("vendor/"))
            target = self.vendor_root / rel if rel else None
            if target is None or not target.is_file():
                return Response("Not Found", status_code=404, media_type="text/plain")
            response: Response = FileResponse(
                target, stat_result=target.stat(), media_type=_media_type(target)
            )
        else:
            response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = IMMUTABLE
        return response
