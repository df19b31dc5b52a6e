"""Build (or reuse) the PDF report of an evaluation in the temporary directory.

Files are named by evaluation and by a digest of everything the report shows,
so a new evaluation (which changes the progress chart) or a coach's
(re-)release yields a new file; the retention job removes files older than
`file_serving.retention_hours`. The report shows what the writer sees
(`cohorts.feedback.writer_view`): after a release, the coach's values.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session as DbSession

from memoai.coaching import progress as progress_service
from memoai.coaching.report import build_pdf
from memoai.coaching.revisions import compare
from memoai.cohorts import feedback
from memoai.config import Settings
from memoai.evaluation import repository as repo
from memoai.models import EvaluationStatus
from memoai.platform.errors import Conflict, NotFound, NotReady
from memoai.platform.identity import Principal


def report_path(
    db: DbSession, settings: Settings, principal: Principal, evaluation_id: str
) -> Path:
    found = repo.get_owned_with_submission(db, principal, evaluation_id)
    if found is None:
        raise NotFound("Evaluation not found.", field="evaluation_id")
    evaluation, submission = found
    if evaluation.status == EvaluationStatus.FAILED.value:
        raise Conflict("This evaluation failed; there is no result to export.")
    if evaluation.status != EvaluationStatus.COMPLETED.value:
        raise NotReady("The evaluation is not finished yet.", headers={"Retry-After": "1"})
    feedback.ensure_released(db, evaluation)
    public = feedback.writer_view(db, evaluation, submission)
    try:
        comparison = compare(db, principal, evaluation_id)
    except NotFound:
        comparison = None
    history = progress_service.progress(db, settings, principal, "all")
    # Everything the report shows, so a coach's (re-)release of this memo or of
    # the one before it, or a new evaluation in the history, makes a new file.
    # The frequency buckets run up to today and are not in the report.
    shown = [
        public.model_dump_json(),
        comparison.model_dump_json() if comparison else "",
        history.model_dump_json(exclude={"submission_frequency"}),
    ]
    key = hashlib.sha256("|".join(shown).encode()).hexdigest()[:16]
    directory = settings.temp_dir / "reports"
    path = directory / f"{evaluation.id}-{key}.pdf"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    data = build_pdf(public, comparison, history)
    # Write then rename: a concurrent download never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".part")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
    return path
