"""The configured rubrics a coach picks from, and the snapshot an assignment pins."""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from memoai.cohorts.schemas import CriterionPublic, RubricList, RubricPublic, ScalePublic
from memoai.config import business_config
from memoai.config.schemas import DEFAULT_RUBRIC_ID, Rubric
from memoai.platform.errors import ValidationFailed


def snapshot(rubric_id: str, rubric: Rubric) -> dict[str, Any]:
    """The whole rubric as JSON (guidance included: the prompt needs it)."""
    return rubric.model_copy(update={"id": rubric_id}).model_dump(mode="json")


def version_of(snapshot_: dict[str, Any]) -> str:
    canonical = json.dumps(snapshot_, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def public(
    rubric_id: str, rubric: Rubric, version: str, *, is_default: bool = False
) -> RubricPublic:
    return RubricPublic(
        id=rubric_id,
        name=rubric.name,
        description=rubric.description,
        version=version,
        is_default=is_default,
        scale=ScalePublic(
            min=rubric.scale.min, max=rubric.scale.max, labels=dict(rubric.scale.labels)
        ),
        criteria=[
            CriterionPublic(id=c.id, name=c.name, weight=c.weight, description=c.description)
            for c in rubric.criteria
        ],
    )


def configured() -> RubricList:
    # Checked now (a stat of four files): the picker shows what pin() would pin.
    rubrics = business_config(force_check=True).rubrics()
    items = []
    for index, (rubric_id, rubric) in enumerate(rubrics.items()):
        items.append(
            public(
                rubric_id,
                rubric,
                version_of(snapshot(rubric_id, rubric)),
                is_default=index == 0,
            )
        )
    return RubricList(items=items)


def pin(rubric_id: str) -> tuple[dict[str, Any], str]:
    """(snapshot, version) of a configured rubric, as it is right now."""
    rubrics = business_config(force_check=True).rubrics()
    rubric = rubrics.get(rubric_id)
    if rubric is None:
        raise ValidationFailed(
            f"No rubric {rubric_id!r} is configured; see GET /api/v1/rubrics.",
            code="unknown_rubric",
            field="rubric_id",
            details={"rubrics": list(rubrics)},
        )
    snap = snapshot(rubric_id, rubric)
    return snap, version_of(snap)


_parsed: dict[str, Rubric] = {}
_lock = threading.Lock()


def from_snapshot(snapshot_: dict[str, Any], version: str) -> Rubric:
    """The pinned rubric as a model (parsed once per version in a process)."""
    with _lock:
        found = _parsed.get(version)
    if found is None:
        found = Rubric.model_validate(snapshot_)
        with _lock:
            if len(_parsed) > 256:
                _parsed.clear()
            _parsed[version] = found
    return found


def default_id() -> str:
    return business_config().rubric.id or DEFAULT_RUBRIC_ID
