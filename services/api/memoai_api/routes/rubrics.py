"""The configured rubrics a coach can pin to an assignment."""

from __future__ import annotations

from fastapi import APIRouter

from memoai.cohorts import rubrics
from memoai.cohorts.schemas import RubricList
from memoai_api import examples
from memoai_api.deps import PrincipalDep
from memoai_api.envelope import Envelope, ok
from memoai_api.routes import API_PREFIX

router = APIRouter(prefix=f"{API_PREFIX}/rubrics", tags=["cohorts"])


@router.get(
    "",
    response_model=Envelope[RubricList],
    responses=examples.ok({"items": [examples.RUBRIC]}),
)
def list_rubrics(_principal: PrincipalDep) -> Envelope[RubricList]:
    """The rubrics in rubric.yaml (the default first), with their current versions."""
    return ok(rubrics.configured())
