"""The web UI's pure helpers, run in Node: the line diff (the `diff` package
behind a size cap), the YAML tokenizer and plural forms.

They are plain ES modules with no DOM work at import, so Node can load them
as the browser does; a resolve hook maps the page's {static}/vendor/ URLs to
the npm packages, as the build does. Without Node the tests skip (CI=true
makes that a failure).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.services import unavailable

JS = Path(__file__).resolve().parents[3] / "services" / "web" / "memoai_web" / "static" / "js"
HOOKS = Path(__file__).with_name("vendor_hooks.mjs")


def run_node(script: str) -> Any:
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
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def diff(before: list[str], after: list[str]) -> list[list[Any]]:
    script = f"""
    import {{ lineDiff }} from "./components/diff.js";
    const ops = await lineDiff({json.dumps(before)}, {json.dumps(after)});
    console.log(JSON.stringify(ops.map((o) => [o.type, o.text, o.oldLine, o.newLine])));
    """
    result: list[list[Any]] = run_node(script)
    return result


def rebuild(ops: list[list[Any]], side: str) -> list[str]:
    keep = {"old": ("same", "del"), "new": ("same", "add")}[side]
    return [text for kind, text, _old, _new in ops if kind in keep]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ([], []),
        ([], ["a", "b"]),
        (["a", "b"], []),
        (["a", "b", "c"], ["a", "b", "c"]),
        (["a", "b", "c"], ["a", "x", "c"]),
        (["w: 20", "x", "w: 20", "y"], ["w: 25", "x", "w: 15", "y"]),
        (["a", "b", "c", "d", "e"], ["e", "a", "c", "d", "b"]),
        (["same"] * 5 + ["old"] + ["same"] * 5, ["same"] * 5 + ["new", "more"] + ["same"] * 5),
    ],
)
def test_line_diff_rebuilds_both_sides_and_keeps_the_longest_common_lines(
    before: list[str], after: list[str]
) -> None:
    ops = diff(before, after)
    assert rebuild(ops, "old") == before
    assert rebuild(ops, "new") == after
    # Line numbers count up on each side.
    assert [o[2] for o in ops if o[2] is not None] == list(range(1, len(before) + 1))
    assert [o[3] for o in ops if o[3] is not None] == list(range(1, len(after) + 1))
    # Minimal: unchanged lines equal the longest common subsequence.
    assert sum(1 for o in ops if o[0] == "same") == _lcs(before, after)


def _lcs(a: list[str], b: list[str]) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            table[i][j] = (
                table[i + 1][j + 1] + 1 if a[i] == b[j] else max(table[i + 1][j], table[i][j + 1])
            )
    return table[0][0]


def test_a_changed_line_is_one_removal_and_one_addition_side_by_side() -> None:
    script = """
    import { lineDiff, sideBySide, splitLines } from "./components/diff.js";
    const ops = await lineDiff(splitLines("a\\nw: 20\\nc\\n"), splitLines("a\\nw: 25\\nc\\n"));
    const rows = sideBySide(ops).map((r) => [r.left?.type ?? null, r.right?.type ?? null]);
    console.log(JSON.stringify(rows));
    """
    assert run_node(script) == [["same", "same"], ["del", "add"], ["same", "same"]]


def test_yaml_tokens_give_the_line_back_and_name_keys_values_and_comments() -> None:
    lines = [
        "rubric:",
        "  - id: bottom_line  # first",
        '    name: "Bottom # Line"',
        "    weight: 20",
        "    enabled: true",
        "    description: >-",
        "      plain text: with a colon",
        "# whole-line comment",
        "---",
        "url: http://example.com/#anchor",
        "",
    ]
    script = f"""
    import {{ tokenizeLine }} from "./components/yaml-editor.js";
    console.log(JSON.stringify({json.dumps(lines)}.map((l) => tokenizeLine(l))));
    """
    result = run_node(script)
    for line, tokens in zip(lines, result, strict=True):
        assert "".join(t["text"] for t in tokens) == line

    def kinds(index: int) -> dict[str, str]:
        return {t["text"].strip(): t["type"] for t in result[index] if t["type"]}

    assert kinds(0)["rubric"] == "key"
    assert kinds(1)["id"] == "key"
    assert kinds(1)["-"] == "dash"
    assert kinds(1)["# first"] == "comment"
    assert kinds(2)['"Bottom # Line"'] == "string"  # a # inside quotes is not a comment
    assert kinds(3)["20"] == "number"
    assert kinds(4)["true"] == "bool"
    assert kinds(5)[">-"] == "block"
    assert kinds(7)["# whole-line comment"] == "comment"
    assert kinds(8)["---"] == "doc"
    assert "comment" not in kinds(9).values()  # "#" inside a URL is not a comment


def test_past_the_size_caps_there_is_no_diff_to_freeze_the_page() -> None:
    script = """
    import { MAX_BYTES, MAX_LINES, lineDiff, tooLarge } from "./components/diff.js";
    const lines = (n, tag) => Array.from({ length: n }, (_, i) => `${tag} ${i}`);
    const text = (n, tag) => lines(n, tag).join("\\n");
    console.log(JSON.stringify({
      small: tooLarge(text(10, "a"), text(10, "b")),
      atCap: tooLarge(text(MAX_LINES, "a"), "x"),
      overLines: tooLarge("x", text(MAX_LINES + 1, "a")),
      overBytes: tooLarge("y".repeat(MAX_BYTES + 1), ""),
      // Every line different: beyond the edit cap the diff gives up (null).
      capped: await lineDiff(lines(300, "a"), lines(300, "b"), { maxEdits: 100 }),
      // Few changes in many lines: well within the cap.
      withinCap: (await lineDiff(lines(300, "a"), ["new", ...lines(300, "a")], { maxEdits: 9 }))
        .length,
    }));
    """
    result = run_node(script)
    assert result == {
        "small": False,
        "atCap": False,
        "overLines": True,
        "overBytes": True,
        "capped": None,
        "withinCap": 301,
    }


@pytest.mark.parametrize(
    ("lang", "count", "expected"),
    [
        ("en", 1, "1 comment"),
        ("en", 0, "0 comments"),
        ("en", 2, "2 comments"),
        ("en", 1.5, "1.5 comments"),
        ("es", 1, "1 comentario"),
        ("es", 3, "3 comentarios"),
        ("es", 1_000_000, "1.000.000 comentarios"),  # Spanish "many" falls back to other
    ],
)
def test_plural_picks_the_languages_form_with_intl_plural_rules(
    lang: str, count: float, expected: str
) -> None:
    catalogue = (JS.parents[1] / "locales" / f"{lang}.json").read_text()
    script = f"""
    import {{ plural, setup }} from "./core/i18n.js";
    setup({{ lang: {json.dumps(lang)}, strings: {catalogue} }});
    console.log(JSON.stringify(plural("detailed.count", {count})));
    """
    assert run_node(script) == expected
