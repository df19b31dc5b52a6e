"""The rubric a submission to an assignment is scored with: the one pinned to it.

An assignment stores a full copy of its rubric when it is created, so editing
rubric.yaml later never changes how its submissions are scored. Frameworks,
context and prompt stay live; `config_version` keeps naming those files, and
the evaluation's `rubric` snapshot shows the pinned rubric it was scored with.
"""

from __future__ import annotations

import dataclasses
import threading

from pydantic import ValidationError

from memoai.config import BusinessConfig
from memoai.config.schemas import Rubric
from memoai.evaluation import repository as repo
from memoai.evaluation.llm_call import EvaluationFailed
from memoai.platform.db import session_scope

# One configuration object per (live files, pinned rubric): the system prompt
# is cached per object, so every memo of an assignment sends the same bytes and
# the provider's prompt cache can hit.
_cache: dict[tuple[str, str], BusinessConfig] = {}
_lock = threading.Lock()
_MAX = 64


def for_evaluation(business: BusinessConfig, evaluation_id: str) -> BusinessConfig:
    """`business` with the assignment's pinned rubric in place of the live one."""
    with session_scope(write=False) as db:
        pinned = repo.pinned_rubric(db, evaluation_id)
    if pinned is None:
        return business
    snapshot, version = pinned
    key = (business.version, version)
    with _lock:
        found = _cache.get(key)
    if found is not None:
        return found
    try:
        rubric = Rubric.model_validate(snapshot)
    except ValidationError as exc:
        raise EvaluationFailed(
            "rubric_invalid",
            f"The assignment's pinned rubric cannot be used: {exc.errors()[0]['msg']}",
        ) from exc
    config = dataclasses.replace(business, rubric=rubric)
    with _lock:
        if len(_cache) >= _MAX:
            _cache.clear()
        _cache[key] = config
    return config
