"""Static files, held in memory and served under a content-hashed URL.

Every URL carries one version for the whole bundle (a hash of all files), so
browsers cache them for a year; ES modules import each other by relative path,
inherit the prefix, and a release can never mix old and new modules.

The page's script and stylesheet are built once at install time (`make
install` runs `npm run build`, see services/web/build.mjs): the modules bundled
and minified, names content-hashed, with .gz and .br files beside them. One
script instead of twenty moved DOMContentLoaded about 100 ms earlier on a busy
2-core machine, and building it here at every start-up cost tens of
milliseconds and a bundler in every image. The build's manifest records a hash
of each source file; the bundle is served only while they all match the files
this service has, so an edit made after the build is never hidden behind a
stale bundle - the page then loads the modules themselves, preloaded, and the
libraries from the build's vendor/ directory.

Without npm at all the page still works: system fonts, unbundled modules, and
plain-text fallbacks where a library (Markdown, diff) is missing. The other
static files are gzip-compressed once at start-up: a cold unbundled load
fetches about twenty of them at once.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import structlog
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

log = structlog.get_logger(__name__)

STATIC_DIR = Path(__file__).parent / "static"


def _beside_repo(*parts: str) -> Path:
    """Beside the repository (a checkout), else in the working directory (an image's /app)."""
    candidates = [Path(__file__).resolve().parents[3].joinpath(*parts), Path.cwd().joinpath(*parts)]
    return next((c for c in candidates if c.is_dir()), candidates[0])


NODE_MODULES = _beside_repo("node_modules")
BUILD_DIR = _beside_repo("build", "web")
ENTRY = "js/main.js"
STYLESHEET = "css/app.css"
MANIFEST = "manifest.json"
IMMUTABLE = "public, max-age=31536000, immutable"

# URL names under {static}/vendor/ (see vendor.json; package.json pins versions).
_VENDOR = json.loads((Path(__file__).parent / "vendor.json").read_text(encoding="utf-8"))
FONTS: dict[str, str] = _VENDOR["fonts"]
LIBRARIES: dict[str, str] = _VENDOR["modules"]
_COMPRESSIBLE = (".js", ".css", ".svg", ".json")
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# One low-cardinality route label for every asset in the request metrics.
_ROUTE = SimpleNamespace(path="/static/{version}/{path}")


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str
    brotli: bytes | None = None


def _media_type(path: Path) -> str:
    return (
        _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    )


def _read_build(build_root: Path) -> tuple[dict[str, Any] | None, dict[str, Asset]]:
    """The build's manifest (None without one) and its files, with their compressed copies."""
    manifest: dict[str, Any] | None
    try:
        manifest = json.loads((build_root / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        manifest = None
    if not isinstance(manifest, dict):
        manifest = None
    assets: dict[str, Asset] = {}
    for path in sorted(build_root.rglob("*")) if build_root.is_dir() else []:
        if not path.is_file() or path.suffix in (".gz", ".br") or path.name == MANIFEST:
            continue
        gz, br = path.with_name(path.name + ".gz"), path.with_name(path.name + ".br")
        assets[path.relative_to(build_root).as_posix()] = Asset(
            path.read_bytes(),
            gz.read_bytes() if gz.is_file() else None,
            _media_type(path),
            br.read_bytes() if br.is_file() else None,
        )
    return manifest, assets


def _fresh(manifest: dict[str, Any], sources: dict[str, bytes], assets: dict[str, Asset]) -> bool:
    """Whether the bundle was built from exactly these source files and is all there."""
    inputs = manifest.get("inputs")
    if not isinstance(inputs, dict) or not inputs:
        return False
    for name, digest in inputs.items():
        body = sources.get(name)
        if body is None or hashlib.sha256(body).hexdigest() != digest:
            return False
    return manifest.get("script") in assets and manifest.get("stylesheet") in assets


class Bundle:
    """Every asset by its path under the versioned prefix, e.g. "js/main.js"."""

    def __init__(
        self,
        static_root: Path = STATIC_DIR,
        vendor_root: Path = NODE_MODULES,
        build_root: Path = BUILD_DIR,
    ) -> None:
        sources = {
            p.relative_to(static_root).as_posix(): p.read_bytes()
            for p in static_root.rglob("*")
            if p.is_file()
        }
        self.assets: dict[str, Asset] = {}
        for name, body in sources.items():
            packed = gzip.compress(body, 9, mtime=0) if name.endswith(_COMPRESSIBLE) else None
            self.assets[name] = Asset(body, packed, _media_type(Path(name)))
        # Fonts straight from node_modules, for a checkout that has not been built.
        for name, rel in FONTS.items():
            font = vendor_root / rel
            if font.is_file():
                self.assets[f"vendor/{name}"] = Asset(font.read_bytes(), None, "font/woff2")
        manifest, built = _read_build(build_root)
        self.assets.update(built)
        self.script = ENTRY
        self.stylesheet = STYLESHEET
        if manifest is not None and _fresh(manifest, sources, built):
            self.script = manifest["script"]
            self.stylesheet = manifest["stylesheet"]
        elif manifest is not None:
            log.warning(
                "web.bundle_stale",
                build=str(build_root),
                hint="static files changed since the build: serving unbundled modules; "
                "run `make install` (npm run build)",
            )
        digest = hashlib.sha256()
        for name, asset in sorted(self.assets.items()):
            digest.update(name.encode() + b"\0" + asset.body)
        self.version = digest.hexdigest()[:12]
        self.prefix = f"/static/{self.version}/"

    @property
    def bundled(self) -> bool:
        return self.script != ENTRY

    @property
    def fonts(self) -> bool:
        return all(f"vendor/{name}" in self.assets for name in FONTS)

    @property
    def entry(self) -> str:
        """The script the page loads."""
        return self.script

    def preloads(self) -> list[str]:
        """Modules for <link rel="modulepreload">: all of them, unless bundled."""
        if self.bundled:
            return []
        return sorted(n for n in self.assets if n.startswith("js/") and n.endswith(".js"))

    def url(self, name: str) -> str:
        return self.prefix + name


class AssetMiddleware:
    """Answers asset requests from memory; everything else goes to the app."""

    def __init__(self, app: ASGIApp, *, bundle: Bundle) -> None:
        self.app = app
        self.bundle = bundle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/static/"):
            await self.app(scope, receive, send)
            return
        scope["route"] = _ROUTE
        asset = self.bundle.assets.get(path.removeprefix(self.bundle.prefix))
        if asset is None or not path.startswith(self.bundle.prefix):
            await _send(send, 404, b"Not Found", [(b"content-type", b"text/plain")])
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _send(send, 405, b"Method Not Allowed", [(b"allow", b"GET, HEAD")])
            return
        headers = [
            (b"content-type", asset.media_type.encode()),
            (b"cache-control", IMMUTABLE.encode()),
        ]
        body = asset.body
        if asset.gzipped is not None or asset.brotli is not None:
            headers.append((b"vary", b"Accept-Encoding"))
            accepted = Headers(scope=scope).get("accept-encoding", "")
            if asset.brotli is not None and "br" in accepted:
                body = asset.brotli
                headers.append((b"content-encoding", b"br"))
            elif asset.gzipped is not None and "gzip" in accepted:
                body = asset.gzipped
                headers.append((b"content-encoding", b"gzip"))
        await _send(send, 200, b"" if scope["method"] == "HEAD" else body, headers, len(body))


async def _send(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]], length: int = -1
) -> None:
    size = len(body) if length < 0 else length
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(size).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
