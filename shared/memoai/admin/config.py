"""Configuration management: read, validate, save (versioned), roll back.

Export and import of the whole set live in `config_archive`.

Every write goes through `apply`: under the cross-process config lock it
records a baseline version for a file that has none (so history can return to
the original bytes), validates, records the new version and replaces the file
atomically. An invalid file is never written, and a failed database commit
puts the previous bytes back.

One module on purpose: every step of a configuration write (lock, baseline,
validate, version, atomic replace, undo) is one transaction's story.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import structlog
import yaml

from memoai.admin import files
from memoai.admin import repository as repo
from memoai.admin import schemas as sc
from memoai.config import (
    BUSINESS_FILES,
    CATEGORIES,
    FILE_SCHEMAS,
    ConfigError,
    ConfigProblem,
    Settings,
    business_config,
    references,
    validate_text,
)
from memoai.config.loader import read_file
from memoai.config.schemas import LlmFile
from memoai.config.settings import content_hash
from memoai.models import ConfigVersion
from memoai.platform import secrets
from memoai.platform.db import session_scope
from memoai.platform.errors import (
    Conflict,
    MemoError,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
)
from memoai.platform.identity import Principal
from memoai.platform.storable import make_storable

log = structlog.get_logger(__name__)

CATEGORY_TEXT: dict[str, tuple[str, str]] = {
    "evaluation": (
        "Evaluation",
        "Rubric, frameworks, audience context and prompt: hot-reloaded, used by the next "
        "evaluation.",
    ),
    "security": ("Security", "Authentication, sessions, rate limits and headers."),
    "interface": ("Interface", "What the web app shows and enables."),
    "infrastructure": ("Infrastructure", "API, queue, database and performance settings."),
    "operations": ("Operations", "LLM provider, logging and monitoring."),
}


class ConfigInvalid(MemoError):
    """The proposed content fails YAML parsing or its schema; nothing was written."""

    status = 400
    code = "config_invalid"

    def __init__(self, problems: list[ConfigProblem]) -> None:
        first = problems[0] if problems else ConfigProblem("", None, "invalid")
        super().__init__(str(first), field=first.field)
        self.problems = problems

    def as_errors(self) -> list[dict[str, Any]]:
        return [
            {
                "code": self.code,
                "message": str(p),
                "field": p.field,
                "details": {"line": p.line, "file": p.file, "problem": p.message},
            }
            for p in self.problems
        ]


class ConfirmationRequired(Conflict):
    """The change would send the LLM API key to another server; resend it confirmed."""

    code = "confirmation_required"


@dataclass(frozen=True)
class Change:
    config_type: str
    content: str
    action: str  # update | rollback | import
    reason: str | None
    rollback_of: int | None = None
    # The admin saw where the API key would go and agreed (see key_destinations).
    confirm_base_url_change: bool = False


def kind(config_type: str) -> sc.ConfigKind:
    return "business" if config_type in BUSINESS_FILES else "system"


def hot_reload(settings: Settings, config_type: str) -> bool:
    mgmt = settings.backend.config_management
    if not mgmt.hot_reload_enabled:
        return False
    if config_type in BUSINESS_FILES:
        return mgmt.hot_reload_business_logic
    return False  # system files are read once per process


def require_type(config_type: str) -> str:
    if config_type not in FILE_SCHEMAS:
        raise NotFound(
            f"Unknown configuration file {config_type!r}; one of: {', '.join(FILE_SCHEMAS)}.",
            field="config_type",
        )
    return config_type


def path_of(settings: Settings, config_type: str) -> Path:
    return settings.runtime.config_dir / f"{config_type}.yaml"


def restart_required(settings: Settings, config_type: str) -> bool:
    """Does this process run with other content than the file on disk now holds?"""
    try:
        on_disk = content_hash(read_file(settings.runtime.config_dir, config_type))
    except ConfigError:
        return True
    if config_type in BUSINESS_FILES:
        if hot_reload(settings, config_type):
            return False
        return business_config().file_hashes.get(config_type) != on_disk
    return settings.source_hashes.get(config_type) != on_disk


def problems_of(settings: Settings, config_type: str, content: str) -> list[ConfigProblem]:
    if len(content) > sc.MAX_CONFIG_CHARS:
        raise PayloadTooLarge(
            f"{config_type}.yaml is limited to {sc.MAX_CONFIG_CHARS} characters.",
            field="config_content",
        )
    fname = f"{config_type}.yaml"
    if "\x00" in content:
        return [ConfigProblem(fname, None, "the file contains a NUL character")]
    if secrets.MARKER in content:
        # What a redacted response showed instead of a literal secret: saving it
        # back would replace the secret with the marker.
        line = content[: content.index(secrets.MARKER)].count("\n") + 1
        return [
            ConfigProblem(
                fname,
                None,
                f"the content holds {secrets.MARKER}, a secret hidden from you; put secrets "
                "in the environment (e.g. ${JWT_SECRET_KEY}) and edit that line on the server",
                line,
            )
        ]
    try:
        validate_text(
            config_type,
            content,
            settings.lookup(),
            mode="admin",
            existing=_existing_references(settings, config_type),
        )
    except ConfigError as exc:
        return exc.problems
    return []


def _existing_references(settings: Settings, config_type: str) -> dict[references.Path, str]:
    """The operator's references in the file on disk, which a save may keep as they are."""
    current = files.read_exact(path_of(settings, config_type))
    if current is None:
        return {}
    try:
        data = yaml.safe_load(current)
    except yaml.YAMLError:
        return {}
    return references.existing_references(data)


def problem_models(problems: list[ConfigProblem]) -> list[sc.Problem]:
    return [sc.Problem(**p.as_dict()) for p in problems]


# ------------------------------------------------------------ the API key's destination


@dataclass(frozen=True)
class KeyDestination:
    """Where llm.yaml content sends an API key: the base URL and the providers using it.

    The URL counts even while the provider is offline: the key goes there as
    soon as LLM_PROVIDER changes, without another admin save.
    """

    base_url: str
    providers: frozenset[str]

    def as_dict(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "providers": sorted(self.providers)}


def key_destination(settings: Settings, content: str | None) -> KeyDestination | None:
    if content is None:
        return None
    try:
        parsed = validate_text("llm", content, settings.lookup())
    except ConfigError:
        return None
    assert isinstance(parsed, LlmFile)
    llm = parsed.llm
    providers = set()
    if llm.provider.name != "offline":
        providers.add(llm.provider.name)
    if llm.fallback.enabled and llm.fallback.secondary_provider != "offline":
        providers.add(llm.fallback.secondary_provider)
    return KeyDestination(_normalized_url(llm.provider.base_url), frozenset(providers))


def _normalized_url(url: str | None) -> str:
    if not url or not url.strip():
        return "(provider default)"
    parts = urlsplit(url.strip())
    # Credentials in a URL are never echoed back in an error.
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme.lower(), netloc.lower(), parts.path.rstrip("/"), "", ""))


def _check_destination(settings: Settings, change: Change) -> None:
    if change.config_type != "llm" or change.confirm_base_url_change:
        return
    before = key_destination(settings, files.read_exact(path_of(settings, "llm")))
    after = key_destination(settings, change.content)
    if after is None or before is None:
        return
    if after.base_url == before.base_url and after.providers <= before.providers:
        return
    raise ConfirmationRequired(
        f"This change sends the LLM API key to {after.base_url}"
        + (f" ({', '.join(sorted(after.providers))})" if after.providers else "")
        + f" instead of {before.base_url}. Resend it with confirm_base_url_change: true "
        "if that is intended.",
        field="confirm_base_url_change",
        details={"before": before.as_dict(), "after": after.as_dict()},
    )


# ------------------------------------------------------------ reads


def categories(settings: Settings) -> sc.Categories:
    with session_scope(write=False) as db:
        latest = repo.latest_versions(db)
    out = []
    for cat_id, types in CATEGORIES.items():
        name, description = CATEGORY_TEXT[cat_id]
        configs = [
            sc.ConfigSummary(
                config_type=t,
                filename=f"{t}.yaml",
                kind=kind(t),
                hot_reload=hot_reload(settings, t),
                version_number=latest[t].version_number if t in latest else None,
                updated_at=latest[t].created_at if t in latest else None,
            )
            for t in types
        ]
        out.append(sc.Category(id=cat_id, name=name, description=description, configs=configs))
    return sc.Categories(categories=out)


def get_config(settings: Settings, config_type: str) -> sc.ConfigDetail:
    require_type(config_type)
    content = files.read_exact(path_of(settings, config_type))
    if content is None:
        raise NotFound(f"{config_type}.yaml is missing from the configuration directory.")
    with session_scope(write=False) as db:
        latest = repo.latest_version(db, config_type)
    return sc.ConfigDetail(
        config_type=config_type,
        filename=f"{config_type}.yaml",
        kind=kind(config_type),
        hot_reload=hot_reload(settings, config_type),
        content=content,
        content_hash=files.sha256(content),
        version_number=latest.version_number if latest else None,
        updated_at=latest.created_at if latest else None,
        updated_by=latest.changed_by if latest else None,
        restart_required=restart_required(settings, config_type),
    )


def validate(settings: Settings, config_type: str, content: str) -> sc.Validation:
    require_type(config_type)
    problems = problems_of(settings, config_type, content)
    return sc.Validation(valid=not problems, problems=problem_models(problems))


def validate_all(settings: Settings) -> sc.ValidateAll:
    results: dict[str, sc.Validation] = {}
    for config_type in FILE_SCHEMAS:
        content = files.read_exact(path_of(settings, config_type))
        if content is None:
            problems = [ConfigProblem(f"{config_type}.yaml", None, "file not found")]
        else:
            problems = problems_of(settings, config_type, content)
        results[config_type] = sc.Validation(valid=not problems, problems=problem_models(problems))
    return sc.ValidateAll(valid=all(r.valid for r in results.values()), results=results)


def history(config_type: str, limit: int) -> sc.History:
    require_type(config_type)
    with session_scope(write=False) as db:
        rows = repo.history(db, config_type, limit)
        versions = [
            sc.VersionSummary(
                version_id=r.id,
                version_number=r.version_number,
                action=r.action,
                change_reason=r.change_reason,
                changed_by=r.changed_by,
                created_at=r.created_at,
                content_hash=r.content_sha256,
            )
            for r in rows
        ]
    return sc.History(config_type=config_type, versions=versions)


def _version(config_type: str, version_id: int) -> ConfigVersion:
    with session_scope(write=False) as db:
        row = repo.version_by_id(db, config_type, version_id)
    if row is None:
        raise NotFound(f"{config_type}.yaml has no version {version_id}.", field="version_id")
    return row


def version_detail(config_type: str, version_id: int) -> sc.VersionDetail:
    require_type(config_type)
    row = _version(config_type, version_id)
    return sc.VersionDetail(
        version_id=row.id,
        version_number=row.version_number,
        action=row.action,
        content=row.content,
        previous_content=row.previous_content,
        change_reason=row.change_reason,
        changed_by=row.changed_by,
        created_at=row.created_at,
    )


# ------------------------------------------------------------ writes


def save(
    settings: Settings,
    admin: Principal,
    config_type: str,
    content: str,
    reason: str,
    *,
    confirm_base_url_change: bool = False,
) -> sc.Saved:
    require_type(config_type)
    change = Change(
        config_type, content, "update", reason, confirm_base_url_change=confirm_base_url_change
    )
    (saved,) = apply(settings, admin, [change])
    return saved


def rollback(
    settings: Settings,
    admin: Principal,
    config_type: str,
    version_id: int,
    reason: str | None,
    *,
    confirm_base_url_change: bool = False,
) -> sc.Saved:
    require_type(config_type)
    target = _version(config_type, version_id)
    why = reason or f"Rollback to version {target.version_number}"
    change = Change(
        config_type,
        target.content,
        "rollback",
        why,
        rollback_of=target.id,
        confirm_base_url_change=confirm_base_url_change,
    )
    (saved,) = apply(settings, admin, [change])
    return saved


def _not_writable(exc: OSError) -> ServiceUnavailable:
    log.error("config.write_failed", error=f"{type(exc).__name__}: {exc.strerror}")
    return ServiceUnavailable(
        f"The configuration directory cannot be written ({exc.strerror}); nothing was changed.",
        code="config_not_writable",
    )


@contextlib.contextmanager
def _held(config_dir: Path) -> Iterator[None]:
    """The cross-process config lock; a directory we cannot write is a clear 503."""
    held = files.config_lock(config_dir).held()
    try:
        held.__enter__()
    except OSError as exc:
        raise _not_writable(exc) from exc
    try:
        yield
    finally:
        held.__exit__(None, None, None)


def apply(settings: Settings, admin: Principal, changes: list[Change]) -> list[sc.Saved]:
    """Validate every change, then record and write them all, or none."""
    for change in changes:
        problems = problems_of(settings, change.config_type, change.content)
        if problems:
            raise ConfigInvalid(problems)
    for change in changes:
        _check_destination(settings, change)
    config_dir = settings.runtime.config_dir
    written: list[tuple[Path, str | None]] = []
    saved: list[sc.Saved] = []
    with _held(config_dir):
        try:
            with session_scope() as db:
                for change in changes:
                    path = path_of(settings, change.config_type)
                    current = files.read_exact(path)
                    latest = repo.latest_version(db, change.config_type)
                    number = latest.version_number if latest else 0
                    if latest is None and current is not None:
                        # The file's original bytes become version 1, so a later
                        # rollback can return to exactly what was shipped.
                        repo.add_version(
                            db,
                            config_type=change.config_type,
                            version_number=1,
                            content=current,
                            content_sha256=files.sha256(current),
                            previous_content=None,
                            action="initial",
                            change_reason="baseline",
                            changed_by="system",
                            changed_by_user_id=None,
                        )
                        number = 1
                    row = repo.add_version(
                        db,
                        config_type=change.config_type,
                        version_number=number + 1,
                        content=change.content,
                        content_sha256=files.sha256(change.content),
                        previous_content=current,
                        action=change.action,
                        # Stored verbatim but storable: a reason may carry NUL or lone surrogates.
                        change_reason=make_storable(change.reason) if change.reason else None,
                        changed_by=admin.username,
                        changed_by_user_id=admin.user_id,
                        rollback_of_version_id=change.rollback_of,
                    )
                    saved.append(
                        sc.Saved(
                            version_id=row.id,
                            version_number=row.version_number,
                            content_hash=row.content_sha256,
                            restart_required=False,
                        )
                    )
                # Files last, inside the transaction: a write failure rolls the
                # versions back; a commit failure is undone below.
                for change in changes:
                    path = path_of(settings, change.config_type)
                    written.append((path, files.read_exact(path)))
                    files.write_atomic(path, change.content)
        except BaseException as exc:
            for path, previous in reversed(written):
                if previous is not None:
                    with contextlib.suppress(OSError):
                        files.write_atomic(path, previous)
            if isinstance(exc, OSError):
                raise _not_writable(exc) from exc
            raise
    if any(c.config_type in BUSINESS_FILES for c in changes):
        business_config(force_check=True)  # this process serves the new files at once
    for change, item in zip(changes, saved, strict=True):
        item.restart_required = restart_required(settings, change.config_type)
        log.info(
            "config.saved",
            config_type=change.config_type,
            action=change.action,
            version_number=item.version_number,
            changed_by=admin.username,
        )
    return saved
