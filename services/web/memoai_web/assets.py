"""Static files, held in memory and served under a content-hashed URL.

Every URL carries one version for the whole bundle (a hash of all files), so
browsers cache them for a year; ES modules import each other by relative path,
inherit the prefix, and a release can never mix old and new modules. The files
are read and gzip-compressed once at start-up: a cold page load fetches about
twenty of them at once, and compressing each on every request would dominate
its time to DOMContentLoaded.

The modules are also bundled into one file at start-up with esbuild (a few
tens of milliseconds): a cold load then fetches and compiles one script instead
of twenty, which moved DOMContentLoaded about 100 ms earlier on a busy 2-core
machine. Without esbuild the page loads the modules themselves, preloaded.

Third-party assets and tools (fonts, esbuild; a chart library later) come from
npm at set-up time (`make install` runs `npm ci`); fonts are served from
node_modules by name, and nothing third-party is committed. When node_modules
is missing the page still works, with the system's fonts and unbundled modules.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import subprocess
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import structlog
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

log = structlog.get_logger(__name__)

STATIC_DIR = Path(__file__).parent / "static"


def _node_modules() -> Path:
    """Beside the repository (a checkout), else in the working directory (an image's /app)."""
    candidates = [Path(__file__).resolve().parents[3] / "node_modules", Path.cwd() / "node_modules"]
    return next((c for c in candidates if c.is_dir()), candidates[0])


NODE_MODULES = _node_modules()
ENTRY = "js/main.js"
BUNDLED = "js/app.js"  # the modules bundled from ENTRY; exists only in memory
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
_COMPRESSIBLE = (".js", ".css", ".svg", ".json")
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# One low-cardinality route label for every asset in the request metrics.
_ROUTE = SimpleNamespace(path="/static/{version}/{path}")


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str


def _media_type(path: Path) -> str:
    return (
        _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    )


def bundle_modules(entry: Path, esbuild: Path) -> bytes | None:
    """The ES module graph from `entry` as one module, or None without esbuild."""
    if not esbuild.is_file():
        return None
    command = [
        str(esbuild),
        str(entry),
        "--bundle",
        "--format=esm",
        "--target=es2022",
        "--charset=utf8",
        "--legal-comments=none",
        "--log-level=error",
    ]
    try:
        # A fixed argument list from our own paths; no shell.
        done = subprocess.run(command, capture_output=True, timeout=60, check=True)  # noqa: S603
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("web.bundle_failed", error=str(exc)[:500])
        return None
    return done.stdout


class Bundle:
    """Every asset by its path under the versioned prefix, e.g. "js/main.js"."""

    def __init__(
        self,
        static_root: Path = STATIC_DIR,
        vendor_root: Path = NODE_MODULES,
        *,
        bundle: bool = True,
    ) -> None:
        files = [(p.relative_to(static_root).as_posix(), p) for p in static_root.rglob("*")]
        files += [(f"vendor/{name}", vendor_root / rel) for name, rel in VENDOR.items()]
        contents = {name: path.read_bytes() for name, path in files if path.is_file()}
        bundled = (
            bundle_modules(static_root / ENTRY, vendor_root / ".bin" / "esbuild")
            if bundle
            else None
        )
        if bundled is not None:
            contents[BUNDLED] = bundled
        self.bundled = bundled is not None
        self.assets: dict[str, Asset] = {}
        digest = hashlib.sha256()
        for name, body in sorted(contents.items()):
            digest.update(name.encode() + b"\0" + body)
            suffix = Path(name).suffix
            packed = gzip.compress(body, 9, mtime=0) if suffix in _COMPRESSIBLE else None
            self.assets[name] = Asset(body, packed, _media_type(Path(name)))
        self.version = digest.hexdigest()[:12]
        self.prefix = f"/static/{self.version}/"

    @property
    def fonts(self) -> bool:
        return all(f"vendor/{name}" in self.assets for name in VENDOR)

    @property
    def entry(self) -> str:
        """The script the page loads."""
        return BUNDLED if self.bundled else ENTRY

    def preloads(self) -> list[str]:
        """Modules for <link rel="modulepreload">: all of them, unless bundled."""
        if self.bundled:
            return []
        return sorted(
            n for n in self.assets if n.startswith("js/") and n.endswith(".js") and n != BUNDLED
        )

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
        if asset.gzipped is not None:
            headers.append((b"vary", b"Accept-Encoding"))
            if "gzip" in Headers(scope=scope).get("accept-encoding", ""):
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
