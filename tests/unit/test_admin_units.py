"""Administration pieces without a database or a server: the auth form's in-place
edit, atomic writes, the multipart reader, zip import parsing, error shapes, the
debug timing view and restart detection."""

from __future__ import annotations

import io
import os
import shutil
import stat
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml

from memoai.admin import auth_config, config, config_archive, diagnostics, files
from memoai.admin.multipart import file_field
from memoai.config import ConfigProblem, Settings, load_settings
from memoai.models import Evaluation
from memoai.platform.errors import MemoError, PayloadTooLarge, ValidationFailed

REPO = Path(__file__).resolve().parents[2]


def _settings(tmp_path: Path) -> Settings:
    shutil.copytree(REPO / "config", tmp_path / "config")
    return load_settings(
        {"CONFIG_DIR": str(tmp_path / "config"), "DATA_DIR": str(tmp_path / "data")}
    )


# ------------------------------------------------------------ auth form


def test_auth_edit_changes_only_the_named_values() -> None:
    text = (REPO / "config" / "auth.yaml").read_text()
    edited = auth_config.edit_text(
        text, {"session_timeout": 7200, "mode": "session_only", "enabled": True}
    )
    parsed = yaml.safe_load(edited)["authentication"]
    assert parsed["session"]["timeout"] == 7200
    assert parsed["mode"] == "session_only"
    assert parsed["enabled"] is True
    before, after = text.splitlines(), edited.splitlines()
    assert len(before) == len(after)
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert len(changed) == 3
    # The comment on the mode line survives the edit.
    assert '  mode: "session_only"  # jwt_session | session_only' in after


def test_auth_edit_refuses_a_key_the_file_does_not_have() -> None:
    with pytest.raises(ValidationFailed) as info:
        auth_config.edit_text("authentication:\n  enabled: true\n", {"session_timeout": 10})
    assert info.value.field == "session_timeout"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, "true"), (False, "false"), (12, "12"), (1.5, "1.5"), ('a"b', '"a\\"b"')],
)
def test_auth_edit_writes_yaml_scalars(value: object, expected: str) -> None:
    assert auth_config._scalar(value) == expected
    assert yaml.safe_load(f"v: {expected}")["v"] == value


# ------------------------------------------------------------ atomic writes


def test_atomic_write_keeps_bytes_and_mode_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "rubric.yaml"
    path.write_bytes(b"old\n")
    os.chmod(path, 0o640)
    inode = path.stat().st_ino
    files.write_atomic(path, "a: 1\r\nb: 'é'\r\n")
    assert path.read_bytes() == "a: 1\r\nb: 'é'\r\n".encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.stat().st_ino != inode  # a new file: hot reload sees the change
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rubric.yaml"]
    assert files.read_exact(path) == "a: 1\r\nb: 'é'\r\n"
    assert files.read_exact(tmp_path / "missing.yaml") is None


def test_a_failed_write_leaves_the_original_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rubric.yaml"
    path.write_bytes(b"original\n")

    def broken(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        files.write_atomic(path, "new\n")
    assert path.read_bytes() == b"original\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rubric.yaml"]


# ------------------------------------------------------------ uploads


def _multipart(fields: dict[str, tuple[str, bytes, str]]) -> tuple[str, bytes]:
    request = httpx.Request("POST", "http://x/", files=fields)
    return request.headers["content-type"], request.read()


def test_multipart_reader_returns_the_file_bytes_untouched() -> None:
    payload = b"PK\x03\x04\x00\r\n\r\n--\xff\xfe binary"
    content_type, body = _multipart({"file": ("c.zip", payload, "application/zip")})
    assert file_field(content_type, body, "file") == payload


def test_multipart_reader_names_a_missing_field_or_boundary() -> None:
    content_type, body = _multipart({"other": ("c.zip", b"x", "application/zip")})
    with pytest.raises(MemoError) as missing:
        file_field(content_type, body, "file")
    assert missing.value.field == "file" and missing.value.status == 400
    with pytest.raises(MemoError):
        file_field("multipart/form-data", body, "file")


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_reader_takes_known_files_even_in_a_folder_and_flags_bad_entries() -> None:
    found = config_archive.read_zip(
        _zip(
            {
                "export/rubric.yaml": b"rubric: {}\n",
                "llm.yaml": b"\xff\xfe not utf-8",
                "prompt.yaml": b"#" * (300 * 1024),  # compresses well; refused by size
                "notes.txt": b"ignored",
                "evil.yaml": b"ignored too",
            }
        )
    )
    assert set(found) == {"rubric", "llm", "prompt"}
    assert found["rubric"] == "rubric: {}\n"
    assert isinstance(found["llm"], ConfigProblem) and "UTF-8" in found["llm"].message
    assert isinstance(found["prompt"], ConfigProblem) and "large" in found["prompt"].message


def test_zip_reader_refuses_what_is_not_a_zip() -> None:
    with pytest.raises(MemoError) as info:
        config_archive.read_zip(b"definitely not a zip")
    assert info.value.code == "invalid_zip" and info.value.status == 400
    with pytest.raises(PayloadTooLarge):
        config_archive.read_zip(b"0" * (config_archive.MAX_ZIP_BYTES + 1))


# ------------------------------------------------------------ errors and views


def test_config_invalid_lists_every_problem_with_line_and_file() -> None:
    error = config.ConfigInvalid(
        [
            ConfigProblem("rubric.yaml", "rubric.criteria.0.weight", "Field required", 19),
            ConfigProblem("rubric.yaml", None, "invalid YAML: found unexpected end", 3),
        ]
    )
    items = error.as_errors()
    assert [i["code"] for i in items] == ["config_invalid", "config_invalid"]
    assert items[0]["field"] == "rubric.criteria.0.weight"
    assert items[0]["details"] == {"line": 19, "file": "rubric.yaml", "problem": "Field required"}
    assert items[1]["details"]["line"] == 3
    assert "rubric.yaml:19" in items[0]["message"]


def test_debug_view_fills_the_timing_breakdown() -> None:
    row = Evaluation(
        id="e1",
        created_at=datetime.now(UTC),
        status="completed",
        input_tokens=10,
        output_tokens=5,
        cache_read_tokens=2,
        cache_creation_tokens=1,
        cost_usd=0.01,
        processing_time=2.0,
        queue_wait=0.5,
        llm_time=1.5,
        timings={"queue_wait": 0.5, "llm": 1.5, "parse": 0.01, "save": 0.02, "odd": True},
    )
    view = diagnostics._debug_row(row)
    assert view.timings.model_dump() == {
        "queue_wait": 0.5,
        "llm": 1.5,
        "parse": 0.01,
        "save": 0.02,
        "total": 2.5,
    }
    assert view.tokens.model_dump() == {"input": 10, "output": 5, "cache_read": 2, "cache_write": 1}
    empty = diagnostics._debug_row(
        Evaluation(
            id="e2",
            created_at=datetime.now(UTC),
            status="queued",
            input_tokens=0,
            output_tokens=0,
            cache_read_tokens=0,
            cache_creation_tokens=0,
            cost_usd=0.0,
        )
    )
    assert empty.timings.model_dump() == dict.fromkeys(
        ("queue_wait", "llm", "parse", "save", "total")
    )


def test_restart_required_only_for_a_changed_system_file(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert not config.restart_required(settings, "security")
    path = settings.runtime.config_dir / "security.yaml"
    path.write_text(path.read_text() + "# edited\n")
    assert config.restart_required(settings, "security")
    assert not config.restart_required(settings, "auth")
    assert config.kind("rubric") == "business" and config.kind("llm") == "system"
    assert config.hot_reload(settings, "rubric") and not config.hot_reload(settings, "llm")


def test_unknown_config_type_is_404() -> None:
    with pytest.raises(MemoError) as info:
        config.require_type("../etc/passwd")
    assert info.value.status == 404
