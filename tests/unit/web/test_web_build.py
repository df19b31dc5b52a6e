"""The install-time build of the web UI (services/web/build.mjs) and how the web
service serves it: one minified, content-hashed script and stylesheet with
.gz and .br copies, used only while it matches the source files."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from memoai_web.app import create_app
from memoai_web.assets import NODE_MODULES, STATIC_DIR, Bundle
from memoai_web.pages import Page
from tests.support.services import unavailable
from tests.unit.web.test_web_service import REPO, config_dir, settings_for  # noqa: F401

BUILD_SCRIPT = REPO / "services" / "web" / "build.mjs"


def run_build(outdir: Path) -> None:
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "esbuild").is_dir():
        unavailable("Node.js and esbuild", "make install runs npm ci")
    done = subprocess.run(
        [node, str(BUILD_SCRIPT), "--outdir", str(outdir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("build") / "web"
    run_build(out)
    return out


def test_the_build_writes_hashed_minified_files_precompressed_and_a_manifest(build: Path) -> None:
    manifest = json.loads((build / "manifest.json").read_text())
    assert re.fullmatch(r"dist/app-[A-Z0-9]{8}\.js", manifest["script"])
    assert re.fullmatch(r"dist/app-[A-Z0-9]{8}\.css", manifest["stylesheet"])
    script = (build / manifest["script"]).read_bytes()
    # Minified: far smaller than the sources, and few lines.
    sources = sum(p.stat().st_size for p in STATIC_DIR.rglob("js/**/*.js"))
    assert len(script) < sources * 0.7
    assert script.count(b"\n") < 100
    for name in (manifest["script"], manifest["stylesheet"], "vendor/marked.js"):
        body = (build / name).read_bytes()
        assert gzip.decompress((build / f"{name}.gz").read_bytes()) == body
        assert 0 < (build / f"{name}.br").stat().st_size < len(body)
    # Every source module is recorded with its hash.
    assert "js/main.js" in manifest["inputs"] and "css/app.css" in manifest["inputs"]
    assert "js/tabs/admin/config-editor.js" in manifest["inputs"]
    for name in ("inter.woff2", "source-serif.woff2", "marked.js", "purify.js", "diff.js"):
        assert (build / "vendor" / name).is_file(), name


def test_a_fresh_build_is_what_the_page_loads(build: Path, config_dir: Path) -> None:  # noqa: F811
    bundle = Bundle(build_root=build)
    manifest = json.loads((build / "manifest.json").read_text())
    assert bundle.bundled
    html = Page(settings_for(config_dir), bundle).render("en")
    assert f'<script type="module" src="{bundle.prefix}{manifest["script"]}">' in html
    assert f'<link rel="stylesheet" href="{bundle.prefix}{manifest["stylesheet"]}">' in html
    assert "modulepreload" not in html
    code = bundle.assets[manifest["script"]].body.decode()
    # No bare imports left for the browser to fail on; relative ones are built chunks.
    imports = r"""(?<![\w.$"'/-])(?:from|import)\s*\(?\s*["']([^"']+)["']"""
    for target in re.findall(imports, code):
        assert target.startswith("./"), target
        assert f"dist/{target[2:]}" in bundle.assets, target
    # The stylesheet's fonts resolve beside dist/.
    css = bundle.assets[manifest["stylesheet"]].body.decode()
    for url in re.findall(r"url\(([^)]+)\)", css):
        assert url.startswith("../vendor/") and f"vendor/{url[10:]}" in bundle.assets, url


def test_an_edit_after_the_build_serves_the_modules_instead(
    build: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    static = tmp_path / "static"
    shutil.copytree(STATIC_DIR, static)
    assert Bundle(static, build_root=build).bundled
    path = static / "js" / "core" / "dom.js"
    path.write_text(path.read_text() + "\n// edited\n")
    stale = Bundle(static, build_root=build)
    assert not stale.bundled
    assert stale.entry == "js/main.js" and stale.stylesheet == "css/app.css"
    assert stale.preloads()
    # Said in the service's log (through logging once configured, else on stdout).
    assert "web.bundle_stale" in caplog.text + capsys.readouterr().out
    # The libraries are still there for the modules to load.
    assert "vendor/marked.js" in stale.assets


def test_built_files_are_served_precompressed_brotli_first(
    build: Path,
    config_dir: Path,  # noqa: F811
) -> None:
    app = create_app(settings_for(config_dir), bundle=Bundle(build_root=build))
    with TestClient(app) as client:
        page = client.get("/").text
        script = re.search(r'<script type="module" src="([^"]+)"', page)
        assert script is not None and "/dist/app-" in script.group(1)
        name = script.group(1).split("/", 3)[3]
        br = client.get(script.group(1), headers={"Accept-Encoding": "gzip, deflate, br"})
        assert br.headers["content-encoding"] == "br"
        assert br.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert br.headers["content-type"].startswith("text/javascript")
        assert br.headers["vary"] == "Accept-Encoding"
        gz = client.get(script.group(1), headers={"Accept-Encoding": "gzip"})
        assert gz.headers["content-encoding"] == "gzip"
        assert gz.content == (build / name).read_bytes()  # httpx decodes gzip
        plain = client.get(script.group(1), headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert plain.content == (build / name).read_bytes()
        font = client.get(script.group(1).replace(name, "vendor/inter.woff2"))
        assert font.status_code == 200 and font.headers["content-type"] == "font/woff2"
