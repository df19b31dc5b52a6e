"""Configuration archives: export the 13 files as a zip, import one all-or-nothing.

An import validates every file it finds with the start-up schemas and applies the
changed ones through the same versioned save as a single edit, or none of them.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from memoai.admin import files
from memoai.admin import schemas as sc
from memoai.admin.config import Change, apply, path_of, problem_models, problems_of
from memoai.config import FILE_SCHEMAS, ConfigProblem, Settings
from memoai.platform import secrets
from memoai.platform.errors import MemoError, PayloadTooLarge
from memoai.platform.identity import Principal

MAX_ZIP_BYTES = 5 * 1024 * 1024


def export_zip(settings: Settings) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for config_type in FILE_SCHEMAS:
            content = files.read_exact(path_of(settings, config_type))
            if content is not None:
                # A literal secret an operator wrote into a file leaves only as the
                # marker (which an import then refuses, naming the line).
                content = secrets.redact(content)
                archive.writestr(f"{config_type}.yaml", content.encode("utf-8"))
    return buffer.getvalue()


def read_zip(data: bytes) -> dict[str, str | ConfigProblem]:
    if len(data) > MAX_ZIP_BYTES:
        raise PayloadTooLarge(f"The archive is limited to {MAX_ZIP_BYTES} bytes.", field="file")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise MemoError(
            "The upload is not a zip archive.", field="file", code="invalid_zip"
        ) from exc
    found: dict[str, str | ConfigProblem] = {}
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = Path(info.filename).name  # an export nested in a folder still imports
            if not name.endswith(".yaml") or name.removesuffix(".yaml") not in FILE_SCHEMAS:
                continue
            config_type = name.removesuffix(".yaml")
            if info.file_size > sc.MAX_CONFIG_CHARS:  # checked before inflating
                found[config_type] = ConfigProblem(name, None, "the file is too large")
                continue
            try:
                raw = archive.read(info)
                found[config_type] = raw.decode("utf-8")
            except UnicodeDecodeError:
                found[config_type] = ConfigProblem(name, None, "the file is not UTF-8 text")
            except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as exc:
                found[config_type] = ConfigProblem(name, None, f"cannot read the entry: {exc}")
    return found


def bulk_import(
    settings: Settings,
    admin: Principal,
    data: bytes,
    *,
    validate_only: bool,
    reason: str | None,
    confirm_base_url_change: bool = False,
) -> sc.BulkImport:
    found = read_zip(data)
    if not found:
        raise MemoError(
            "The archive holds none of the 13 configuration files (e.g. rubric.yaml).",
            field="file",
            code="invalid_zip",
        )
    results: dict[str, sc.ImportResult] = {}
    changes: list[Change] = []
    for config_type, entry in found.items():
        if isinstance(entry, ConfigProblem):
            problems = [entry]
        else:
            try:
                problems = problems_of(settings, config_type, entry)
            except PayloadTooLarge:
                problems = [ConfigProblem(f"{config_type}.yaml", None, "the file is too large")]
        current = files.read_exact(path_of(settings, config_type))
        changed = isinstance(entry, str) and entry != current
        results[config_type] = sc.ImportResult(
            valid=not problems, problems=problem_models(problems), changed=changed
        )
        if changed and not problems:
            assert isinstance(entry, str)
            changes.append(
                Change(
                    config_type,
                    entry,
                    "import",
                    reason or "Bulk import",
                    confirm_base_url_change=confirm_base_url_change,
                )
            )
    valid = all(r.valid for r in results.values())
    applied = valid and not validate_only
    if applied and changes:
        apply(settings, admin, changes)
    return sc.BulkImport(valid=valid, applied=applied, results=results)
