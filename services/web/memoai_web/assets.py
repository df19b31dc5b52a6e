"""Static files, held in memory and served under a content-hashed URL.

Every URL carries one version for the whole bundle (a hash of all files), so
browsers cache them for a year; ES modules import each other by relative path,
inherit the prefix, and a release can never mix old and new modules. The files
are read and gzip-compressed once at start-up: a cold page load fetches about
twenty of them at once, and compressing each on every request would dominate
its time to DOMContentLoaded.

Third-party assets (fonts now, a chart library later) come from npm at set-up
time (`make install` runs `npm ci`) and are served from node_modules by name;
nothing third-party is committed. When node_modules is missing the page still
works, with the system's fonts.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

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


class Bundle:
    """Every asset by its path under the versioned prefix, e.g. "js/main.js"."""

    def __init__(self, static_root: Path = STATIC_DIR, vendor_root: Path = NODE_MODULES) -> None:
        files = [(p.relative_to(static_root).as_posix(), p) for p in static_root.rglob("*")]
        files += [(f"vendor/{name}", vendor_root / rel) for name, rel in VENDOR.items()]
        self.assets: dict[str, Asset] = {}
        digest = hashlib.sha256()
        for name, path in sorted(f for f in files if f[1].is_file()):
            body = path.read_bytes()
            digest.update(name.encode() + b"\0" + body)
            packed = gzip.compress(body, 9, mtime=0) if path.suffix in _COMPRESSIBLE else None
            self.assets[name] = Asset(body, packed, _media_type(path))
        self.version = digest.hexdigest()[:12]
        self.prefix = f"/static/{self.version}/"

    @property
    def fonts(self) -> bool:
        return all(f"vendor/{name}" in self.assets for name in VENDOR)

    def modules(self) -> list[str]:
        """Every ES module, for <link rel="modulepreload">."""
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
