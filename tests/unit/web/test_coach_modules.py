"""The coach area's pure helpers, run in Node: overlapping passages cut into
runs, code-point offsets of a quote (the API counts code points, JavaScript
UTF-16 units), and a due date typed in local time sent as the UTC instant."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from tests.support.services import unavailable
from tests.unit.web.test_admin_modules import HOOKS, JS


def run_node(script: str, tz: str = "UTC") -> Any:
    node = shutil.which("node")
    if node is None:
        unavailable("Node.js", "install nodejs (make install needs it for npm)")
    done = subprocess.run(
        [node, "--import", HOOKS.as_uri(), "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=JS,
        env={**os.environ, "TZ": tz},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def layer(text: str, segments: list[dict[str, Any]]) -> dict[str, Any]:
    script = f"""
    import {{ layerSegments }} from "./core/segments.js";
    console.log(JSON.stringify(layerSegments({json.dumps(text)}, {json.dumps(segments)})));
    """
    result: dict[str, Any] = run_node(script)
    return result


def test_a_coach_passage_inside_an_ai_one_is_its_own_run_covered_by_both() -> None:
    text = "🚀 We request $240,000 now."
    ai = {"start": 2, "end": 21, "segment": text[2:21]}  # code points, as the API sends them
    coach = {"start": 13, "end": 21, "segment": text[13:21]}
    result = layer(text, [ai, coach])
    runs = [(r["text"], r["covers"]) for r in result["runs"]]
    assert runs == [
        ("🚀 ", []),
        ("We request ", [0]),
        ("$240,000", [0, 1]),
        (" now.", []),
    ]
    # Places are UTF-16 indices: the emoji is two units.
    assert result["places"] == [{"start": 3, "end": 22}, {"start": 14, "end": 22}]
    assert "".join(r["text"] for r in result["runs"]) == text


def test_a_passage_whose_offsets_do_not_match_is_found_by_its_text_or_left_out() -> None:
    text = "Ask first. Then the numbers."
    moved = {"start": 0, "end": 4, "segment": "the numbers"}  # stale offsets, right quote
    missing = {"start": 0, "end": 3, "segment": "not in the memo"}
    result = layer(text, [moved, missing])
    start = text.index("the numbers")
    assert result["places"] == [{"start": start, "end": start + len("the numbers")}, None]
    assert [r["covers"] for r in result["runs"]] == [[], [0], []]


@pytest.mark.parametrize(
    ("text", "quote"),
    [
        ("🚀 Décision: approve $1.2M by June 1.", "approve $1.2M"),
        ("👩🏽‍💼 the owner signs; 👍 then the budget", "then the budget"),
        ("plain text, plain quote", "plain quote"),
    ],
)
def test_a_quote_gets_the_code_point_offsets_python_slices_with(text: str, quote: str) -> None:
    script = f"""
    import {{ findQuote }} from "./components/highlights.js";
    import {{ codePointIndex }} from "./core/segments.js";
    const text = {json.dumps(text)};
    console.log(JSON.stringify({{
      found: findQuote(text, {json.dumps(quote)}),
      missing: findQuote(text, "nowhere"),
      end: codePointIndex(text, text.length),
    }}));
    """
    result = run_node(script)
    found = result["found"]
    assert text[found["start"] : found["end"]] == quote == found["segment"]
    assert found["start"] == text.index(quote)
    assert result["missing"] is None
    assert result["end"] == len(text)


@pytest.mark.parametrize(
    ("tz", "typed", "utc"),
    [
        ("Europe/Madrid", "2027-03-14T23:59", "2027-03-14T22:59:00.000Z"),  # winter, UTC+1
        ("Europe/Madrid", "2027-07-01T09:00", "2027-07-01T07:00:00.000Z"),  # summer, UTC+2
        ("America/New_York", "2027-11-07T01:30", "2027-11-07T05:30:00.000Z"),  # repeated: the first
        ("Asia/Tokyo", "2027-01-01T00:00", "2026-12-31T15:00:00.000Z"),
        ("UTC", "2027-01-01T00:00", "2027-01-01T00:00:00.000Z"),
    ],
)
def test_a_due_date_typed_in_local_time_is_sent_as_the_utc_instant(
    tz: str, typed: str, utc: str
) -> None:
    script = f"""
    import {{ localInput, utcFromInput, zoneName }} from "./core/dates.js";
    const sent = utcFromInput({json.dumps(typed)});
    console.log(JSON.stringify({{ sent, back: localInput(new Date(sent)), zone: zoneName(),
      bad: [utcFromInput(""), utcFromInput("tomorrow"), utcFromInput("2027-02-30T10:00Z")] }}));
    """
    result = run_node(script, tz=tz)
    assert result["sent"] == utc
    assert result["back"] == typed  # shown again as the coach typed it
    assert result["zone"] == tz
    assert result["bad"] == [None, None, None]


def test_the_coach_area_modules_build_the_dom_without_markup_strings() -> None:
    sources = [
        *(JS / "tabs" / "cohorts").glob("*.js"),
        *(JS / "tabs" / "assignments").glob("*.js"),
        JS / "components" / "highlights.js",
    ]
    assert len(sources) >= 10
    for path in sources:
        source = path.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
            assert sink not in source, (path.name, sink)
