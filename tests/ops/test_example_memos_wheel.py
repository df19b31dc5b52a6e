"""The built wheel carries examples/memos, so `pip install memoai && memoai web` still
offers "Try an example" without a checkout beside it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.stack import _SCRUB, MEMOS, REPO

pytestmark = pytest.mark.integration


def test_the_wheel_carries_the_example_memos_and_the_web_service_finds_them(
    tmp_path: Path,
) -> None:
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO)],
        check=True,
        timeout=240,
        capture_output=True,
    )
    (wheel,) = out.glob("memoai-*.whl")
    expected = sorted(p.name for p in MEMOS.iterdir() if p.is_file())
    with zipfile.ZipFile(wheel) as archive:
        packaged = sorted(
            Path(n).name for n in archive.namelist() if n.startswith("memoai_web/example_memos/")
        )
    assert packaged == expected

    # Installed away from the checkout, the module finds its own copy.
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target),
         str(wheel)],
        check=True,
        timeout=240,
        capture_output=True,
    )  # fmt: skip
    probe = (
        "import json; from memoai_web import examples; "
        "print(json.dumps([str(examples.memos_dir()), list(examples.catalogue())]))"
    )
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env["PYTHONPATH"] = str(target)  # ahead of the editable install's source paths
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    found_dir, names = json.loads(result.stdout)
    assert Path(found_dir) == target / "memoai_web" / "example_memos"
    manifest = json.loads((MEMOS / "manifest.json").read_text())
    assert names == [Path(m["file"]).stem for m in manifest]

    # The development compose file mounts the sources over the installed image:
    # the module then comes from a folder with no memos beside it or above it.
    mounted = tmp_path / "app" / "src" / "services" / "web"
    shutil.copytree(REPO / "services" / "web" / "memoai_web", mounted / "memoai_web",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    env["PYTHONPATH"] = f"{mounted}{os.pathsep}{target}"
    probe = (
        "import json, memoai_web; from memoai_web import examples; "
        "print(json.dumps([memoai_web.__file__, str(examples.memos_dir())]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    module, found_dir = json.loads(result.stdout)
    assert Path(module).is_relative_to(mounted)
    assert Path(found_dir) == target / "memoai_web" / "example_memos"
