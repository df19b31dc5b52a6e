"""`memoai evaluate FILE…` run as the real command: in-process on the embedded defaults
(offline provider, a temporary DATA_DIR) and against a running stack (--api-url)."""

from __future__ import annotations

import json
import os
import pty
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from memoai.documents import Limits, extract_file
from tests.fakes.anthropic_server import FakeAnthropic
from tests.support.auth import ADMIN_PASSWORD, ADMIN_USERNAME, auth_overrides, bearer
from tests.support.documents import docx_bytes, png_bytes, scanned_pdf, text_pdf
from tests.support.services import free_port
from tests.support.stack import MEMOS, Stack, claude_overrides, running_stack, stack_env

pytestmark = pytest.mark.integration

STRONG = MEMOS / "strong_01_en_hf_remote_monitoring.txt"
WEAK = MEMOS / "weak_03_es_salas_de_espera.txt"
MEDIUM = MEMOS / "medium_02_en_nurse_float_pool.txt"


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Stack]:
    """An environment like `make run`'s (SQLite, embedded broker, offline), no process started."""
    with stack_env(tmp_path, "sqlite") as env:
        stack = Stack(tmp_path, env, "sqlite")
        yield stack
        stack.stop()


def evaluate(
    stack: Stack, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memoai_cli.main", "evaluate", *args],
        env={**stack.env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def json_lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def memo_text(path: Path) -> str:
    """A memo file's text as the CLI (and the web app's upload) reads it: normalised."""
    return extract_file(path, Limits()).text


def assert_grounded(evaluation: dict[str, Any], text: str) -> None:
    assert evaluation["text_content"] == text
    assert evaluation["segment_feedback"]
    for item in evaluation["segment_feedback"]:
        assert text[item["start"] : item["end"]] == item["segment"]


def rubric(stack: Stack) -> dict[str, float]:
    """Criterion name -> weight, read from the stack's rubric.yaml."""
    loaded = yaml.safe_load((stack.config_dir / "rubric.yaml").read_text())
    return {c["name"]: float(c["weight"]) for c in loaded["rubric"]["criteria"]}


def rubric_names(stack: Stack) -> list[str]:
    return list(rubric(stack))


def broker_messages(data_dir: Path) -> int:
    """Messages in the embedded broker, in any queue (0 when it was never created)."""
    path = data_dir / "broker.db"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM kombu_message").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


# ---------------------------------------------------------------- input errors


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.txt", None, "missing.txt: no such file."),
        ("empty.txt", b"", "empty.txt: The file is empty."),
        ("blank.md", b"  \n\t\n", "blank.md: The file contains no text."),
        ("memo.docx", b"PK\x03\x04", "memo.docx: The file looks like a Word document"),
        ("memo.pdf", b"%PDF-1.7", "memo.pdf: The PDF is damaged"),
        ("scan.pdf", scanned_pdf(), "scan.pdf: The PDF has no text layer"),
        ("photo.txt", png_bytes(), "photo.txt: The file is a PNG image"),
        ("latin1.txt", "Evaluación".encode("latin-1"), "latin1.txt: The file is not UTF-8 text"),
        ("nul.txt", b"memo\x00text", "nul.txt: The file is not a document we can read"),
    ],
)
def test_a_bad_file_exits_2_and_nothing_is_evaluated(
    local: Stack, name: str, content: bytes | None, message: str
) -> None:
    path = local.root / name
    if content is not None:
        path.write_bytes(content)
    # A good file next to the bad one is not evaluated either.
    result = evaluate(local, str(STRONG), str(path))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "nothing was evaluated" in result.stderr
    assert result.stdout == ""
    db = local.data_dir / "memoai.db"
    if db.exists():
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM submissions").fetchone()[0] == 0


def test_word_and_pdf_memos_are_evaluated_on_the_text_the_upload_would_extract(
    local: Stack,
) -> None:
    memo = STRONG.read_text(encoding="utf-8")
    paragraphs = [p for p in memo.split("\n\n") if p.strip()][:6]
    word, pdf = local.root / "memo.docx", local.root / "memo.pdf"
    word.write_bytes(docx_bytes(heading="Remote monitoring", paragraphs=paragraphs))
    pdf.write_bytes(text_pdf(paragraphs))
    result = evaluate(local, "--json", str(word), str(pdf))
    assert result.returncode == 0, result.stderr
    for path, evaluation in zip((word, pdf), json_lines(result.stdout), strict=True):
        # The same text the web app's upload shows for this file, quotes grounded in it.
        expected = extract_file(path, Limits()).text
        assert evaluation["status"] == "completed"
        assert_grounded(evaluation, expected)  # text_content is that text, quotes inside it
        assert " ".join(paragraphs[1].split())[:40] in " ".join(expected.split())


def test_a_memo_over_the_length_limit_exits_2_before_anything_is_stored(local: Stack) -> None:
    path = local.root / "long.txt"
    path.write_text("word " * 2_001)  # 10,004 characters once the final space is trimmed
    result = evaluate(local, str(path))
    assert result.returncode == 2
    assert "long.txt: The memo is 10,004 characters; the limit is 10,000." in result.stderr
    with sqlite3.connect(local.data_dir / "memoai.db") as conn:
        assert conn.execute("SELECT count(*) FROM submissions").fetchone()[0] == 0


def test_standard_input_is_read_with_a_dash_and_a_byte_order_mark_is_dropped(local: Stack) -> None:
    text = STRONG.read_text(encoding="utf-8")
    assert text.endswith("\n")  # the extracted text does not keep the final newline
    result = subprocess.run(
        [sys.executable, "-m", "memoai_cli.main", "evaluate", "--json", "-"],
        env=local.env,
        input=b"\xef\xbb\xbf" + text.encode(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (evaluation,) = json_lines(result.stdout.decode())
    assert_grounded(evaluation, memo_text(STRONG))


def test_usage_errors_exit_2(local: Stack) -> None:
    assert evaluate(local).returncode == 2  # no file at all (click's own usage error)
    result = evaluate(local, "--token", "mac_x", str(STRONG))
    assert result.returncode == 2 and "--token needs --api-url" in result.stderr
    result = evaluate(local, "--api-url", "http://127.0.0.1:1", "--user", "x", str(STRONG))
    assert result.returncode == 2 and "--user is for in-process evaluation" in result.stderr


# ---------------------------------------------------------------- in process


def test_in_process_evaluation_prints_the_scores_table_comments_and_offline_label(
    local: Stack,
) -> None:
    result = evaluate(local, str(STRONG), env={"COLUMNS": "100"})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"== {STRONG}\n")
    assert ": completed\nProvider: offline evaluator - language en - " in out
    assert "Offline evaluation: scored by the built-in rule-based evaluator" in out
    assert "Overall score: " in out and " / 5 (Healthcare Investment Memo Rubric)" in out
    scores = out.split("\nScores\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert scores[0].split() == ["Criterion", "Score", "Weight", "Justification"]
    for name in rubric_names(local):
        row = next(line for line in scores if line.startswith(f"  {name}  "))
        assert " / 5  " in row and "%" in row
    assert all(len(line) <= 100 for line in out.splitlines() if not line.startswith("=="))
    for heading in ("\nStrengths\n  - ", "\nOpportunities\n  - ", "\nComments ("):
        assert heading in out
    comments = out.split("\nComments (", 1)[1]
    assert "  1. line " in comments and '"' in comments
    assert "\n     ? " in comments  # an insight question under its comment
    # Where the result went, on standard error.
    assert "Saved in" in result.stderr and "cli_session" in result.stderr
    # A fresh DATA_DIR was migrated first, as `make run` would.
    assert "Database migrated to revision" in result.stderr


def test_json_output_is_the_api_shape_and_the_results_are_in_the_cli_sessions_history(
    local: Stack,
) -> None:
    result = evaluate(local, "--json", str(STRONG), str(WEAK))
    assert result.returncode == 0, result.stderr
    first, second = json_lines(result.stdout)  # one JSON object per line, in file order
    assert_grounded(first, memo_text(STRONG))
    assert_grounded(second, memo_text(WEAK))
    assert second["language"] == "es"
    for evaluation in (first, second):
        assert evaluation["status"] == "completed"
        assert evaluation["offline"] is True and evaluation["llm_provider"] == "offline"
        assert list(evaluation["rubric_scores"]) == rubric_names(local)
        assert all(1 <= s["score"] <= 5 for s in evaluation["rubric_scores"].values())
    # The overall score is the rubric's weighted mean of the criterion scores.
    weights = rubric(local)
    mean = sum(s["score"] * weights[n] for n, s in first["rubric_scores"].items()) / sum(
        weights.values()
    )
    assert first["overall_score"] == pytest.approx(mean, abs=0.005)

    # No broker message was left for a worker to evaluate it again, and the rows say
    # it was never queued for one.
    assert broker_messages(local.data_dir) == 0
    with sqlite3.connect(local.data_dir / "memoai.db") as conn:
        rows = conn.execute("SELECT status, enqueued_at, attempts FROM evaluations").fetchall()
    assert sorted(rows) == [("completed", None, 1), ("completed", None, 1)]

    # The API serves the same evaluations to the CLI's session: they are in its history.
    token = (local.data_dir / "cli_session").read_text().strip()
    assert oct((local.data_dir / "cli_session").stat().st_mode & 0o777) == "0o600"
    local.start("api")
    headers = {"X-Session-ID": token}
    with local.client() as client:
        listed = client.get("/evaluations", headers=headers).json()["data"]["items"]
        assert [item["id"] for item in listed] == [second["id"], first["id"]]
        served = client.get(f"/evaluations/{first['id']}", headers=headers)
        assert served.json()["data"]["evaluation"] == first

    # A second run reuses the CLI's session: one history, not one per run.
    again = evaluate(local, "--json", str(MEDIUM))
    assert again.returncode == 0, again.stderr
    assert (local.data_dir / "cli_session").read_text().strip() == token
    with local.client() as client:
        assert client.get("/evaluations", headers=headers).json()["data"]["total"] == 3


def test_several_files_end_with_a_summary_table(local: Stack) -> None:
    result = evaluate(local, str(STRONG), str(WEAK), env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    summary = result.stdout.split("\nSummary: 2 of 2 evaluated\n", 1)[1].splitlines()
    assert summary[0].split() == ["File", "Status", "Score", "Evaluation"]
    assert summary[1].split()[:2] == [str(STRONG), "completed"]
    assert summary[2].split()[:2] == [str(WEAK), "completed"]
    assert result.stdout.count("\n== ") + result.stdout.startswith("== ") == 2


def test_user_option_puts_the_evaluation_in_that_users_history(local: Stack) -> None:
    local.memoai("migrate")
    subprocess.run(
        [sys.executable, "-m", "memoai_cli.main", "create-admin", "--username", ADMIN_USERNAME,
         "--password-stdin"],
        input=ADMIN_PASSWORD + "\n",
        env=local.env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    # With sign-in required, anonymous in-process evaluation is refused.
    auth_env = {"AUTH_ENABLED": "true", "JWT_SECRET_KEY": "k" * 40}
    refused = evaluate(local, str(STRONG), env=auth_env)
    assert refused.returncode == 2
    assert "AUTH_ENABLED=true" in refused.stderr and "--user NAME" in refused.stderr
    unknown = evaluate(local, "--user", "nobody", str(STRONG), env=auth_env)
    assert unknown.returncode == 2 and "No user named 'nobody'" in unknown.stderr

    result = evaluate(local, "--user", ADMIN_USERNAME.upper(), "--json", str(STRONG), env=auth_env)
    assert result.returncode == 0, result.stderr
    (evaluation,) = json_lines(result.stdout)
    assert f"Saved in {ADMIN_USERNAME}'s history" in result.stderr
    assert not (local.data_dir / "cli_session").exists()

    local.env.update(auth_env)
    local.start("api")
    with local.client() as client:
        headers = bearer(local, ADMIN_USERNAME, ADMIN_PASSWORD)
        listed = client.get("/evaluations", headers=headers).json()["data"]["items"]
    assert [item["id"] for item in listed] == [evaluation["id"]]


def test_a_failed_evaluation_exits_1_and_prints_the_reason(
    tmp_path: Path, fake: FakeAnthropic
) -> None:
    overrides = claude_overrides(fake.url, LLM_RETRY_ATTEMPTS="0")
    with stack_env(tmp_path, "sqlite", **overrides) as env:
        stack = Stack(tmp_path, env, "sqlite")
        fake.script("overloaded", "overloaded")
        text_run = evaluate(stack, str(MEDIUM))
        json_run = evaluate(stack, "--json", str(MEDIUM))
    assert text_run.returncode == 1, text_run.stderr
    assert ": failed\nProvider: " in text_run.stdout
    assert "Evaluation failed: The AI provider could not complete the evaluation" in text_run.stdout
    assert "(llm_unavailable)" in text_run.stdout
    assert json_run.returncode == 1, json_run.stderr
    (evaluation,) = json_lines(json_run.stdout)
    assert evaluation["status"] == "failed" and evaluation["error_code"] == "llm_unavailable"
    assert evaluation["offline"] is False
    # The real SDK called the fake Messages API once per memo (no retries configured).
    assert [r.behaviour for r in fake.requests] == ["overloaded", "overloaded"]
    # The key never reaches the output.
    assert overrides["CLAUDE_API_KEY"] not in text_run.stdout + text_run.stderr


def test_progress_bar_is_drawn_on_a_terminal_and_only_there(local: Stack) -> None:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "memoai_cli.main", "evaluate", str(STRONG)],
        env=local.env,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    terminal = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        terminal += chunk
    os.close(master)
    stdout = proc.communicate(timeout=120)[0].decode()
    assert proc.returncode == 0
    drawn = terminal.decode(errors="replace")
    assert f"{STRONG} (completed)" in drawn and "100%" in drawn and "[#" in drawn
    assert "Overall score" in stdout and "100%" not in stdout
    # Not a terminal: no bar at all.
    plain = evaluate(local, str(STRONG))
    assert "%]" not in plain.stderr and "100%" not in plain.stderr and "[#" not in plain.stderr


@pytest.mark.postgres
@pytest.mark.redis
def test_in_process_on_postgres_stores_there_and_publishes_nothing_to_redis(
    tmp_path: Path,
) -> None:
    import redis
    import sqlalchemy

    with stack_env(tmp_path, "postgres") as env:
        stack = Stack(tmp_path, env, "postgres")
        result = evaluate(stack, "--json", str(STRONG))
        assert result.returncode == 0, result.stderr
        (evaluation,) = json_lines(result.stdout)
        engine = sqlalchemy.create_engine(env["DATABASE_URL"])
        try:
            with engine.connect() as conn:
                row = conn.execute(
                    sqlalchemy.text("SELECT status, enqueued_at FROM evaluations WHERE id = :id"),
                    {"id": evaluation["id"]},
                ).one()
        finally:
            engine.dispose()
        assert tuple(row) == ("completed", None)
        client = redis.Redis.from_url(env["REDIS_URL"])
        try:
            assert list(client.scan_iter(match=f"{env['REDIS_KEY_PREFIX']}*")) == []
        finally:
            client.close()
        assert not (stack.data_dir / "memoai.db").exists()


# ---------------------------------------------------------------- remote (--api-url)


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """api + worker with sign-in required and a bootstrap admin."""
    root = tmp_path_factory.mktemp("cli-remote")
    with running_stack(root, "sqlite", **auth_overrides()) as stack:
        yield stack


def api_token(stack: Stack, *scopes: str) -> str:
    with stack.client() as client:
        response = client.post(
            "/tokens",
            json={"name": f"cli {' '.join(scopes)}", "scopes": list(scopes)},
            headers=bearer(stack, ADMIN_USERNAME, ADMIN_PASSWORD),
        )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["token"])


def test_remote_evaluation_with_a_token_prints_what_the_api_serves(remote: Stack) -> None:
    token = api_token(remote, "write")
    env = {"MEMOAI_TOKEN": token}
    result = evaluate(remote, "--api-url", remote.api_url, "--json", str(STRONG), str(WEAK),
                      env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    first, second = json_lines(result.stdout)
    assert_grounded(first, memo_text(STRONG))
    assert_grounded(second, memo_text(WEAK))
    with remote.client() as client:
        served = client.get(
            f"/evaluations/{first['id']}", headers={"Authorization": f"Bearer {token}"}
        )
    assert served.json()["data"]["evaluation"] == first
    assert f"Saved at {remote.api_url}" in result.stderr
    assert token not in result.stdout + result.stderr

    # Text mode against the API: the same report as in-process, from the same JSON.
    text = evaluate(remote, "--api-url", f"{remote.api_url}/api/v1/", str(MEDIUM), env=env)
    assert text.returncode == 0, text.stderr
    assert ": completed\nProvider: offline evaluator" in text.stdout
    assert "\nScores\n  Criterion" in text.stdout and "\nComments (" in text.stdout


def test_remote_refusals_exit_4_for_a_missing_wrong_or_read_only_token(remote: Stack) -> None:
    args = ("--api-url", remote.api_url, str(STRONG))
    missing = evaluate(remote, *args)
    assert missing.returncode == 4
    assert "requires sign-in: pass --token (or MEMOAI_TOKEN)" in missing.stderr
    wrong = evaluate(remote, *args, env={"MEMOAI_TOKEN": "mac_" + "x" * 40})
    assert wrong.returncode == 4 and "HTTP 401" in wrong.stderr
    read_only = evaluate(remote, *args, env={"MEMOAI_TOKEN": api_token(remote, "read")})
    assert read_only.returncode == 4 and "HTTP 403" in read_only.stderr
    assert "read-only" in read_only.stderr


def test_an_unreachable_api_exits_3(local: Stack) -> None:
    port = free_port()  # nothing listens there
    result = evaluate(local, "--api-url", f"http://127.0.0.1:{port}", str(STRONG))
    assert result.returncode == 3
    assert f"Cannot reach http://127.0.0.1:{port}" in result.stderr
    # An address that answers, but is not the API: also unreachable, and said so.
    local.start("web")
    wrong = evaluate(local, "--api-url", f"{local.web_url}/nothing-here", str(STRONG))
    assert wrong.returncode == 3
    assert "no Memo AI Coach envelope" in wrong.stderr


def test_remote_evaluation_that_no_worker_takes_times_out_with_exit_5(local: Stack) -> None:
    local.memoai("migrate")
    local.start("api")  # no worker: the memo stays queued
    result = evaluate(local, "--api-url", local.api_url, "--timeout", "2", str(STRONG))
    assert result.returncode == 5
    assert "is still queued after 2 s" in result.stderr and "is a worker running?" in result.stderr
    # Without a token, the CLI used an anonymous session of its own (sign-in is off).
    with sqlite3.connect(local.data_dir / "memoai.db") as conn:
        assert conn.execute("SELECT status FROM evaluations").fetchall() == [("queued",)]
