"""The Account tab's password check, run in Node: it refuses what the API's
policy refuses (so the writer hears it in the page's language, before a round
trip) and is never stricter than the API, which stays the judge."""

from __future__ import annotations

import json
from typing import Any

import pytest

from memoai.auth import policy as api_policy
from memoai.config.schemas import PasswordPolicy
from memoai.platform.errors import ValidationFailed
from tests.unit.web.test_admin_modules import JS, run_node

POLICY = {"minLength": 12, "maxLength": 256, "requireLetter": True, "requireDigit": True}


def problems(values: dict[str, str], policy: dict[str, Any] = POLICY) -> list[dict[str, Any]]:
    script = f"""
    import {{ passwordProblems }} from "./core/passwords.js";
    console.log(JSON.stringify(passwordProblems({json.dumps(values)}, {json.dumps(policy)})));
    """
    result: list[dict[str, Any]] = run_node(script)
    return result


def test_a_good_change_has_no_problem() -> None:
    assert (
        problems({"current": "old", "next": "Correct-horse-7", "confirm": "Correct-horse-7"}) == []
    )


def test_each_field_gets_at_most_one_problem_in_form_order() -> None:
    found = problems({"current": "", "next": "short1", "confirm": "other"})
    assert [(p["field"], p["key"]) for p in found] == [
        ("current_password", "account.currentMissing"),
        ("new_password", "account.tooShort"),
        ("confirm_password", "account.mismatch"),
    ]
    assert found[1]["values"] == {"min": 12}


@pytest.mark.parametrize(
    ("new", "key"),
    [
        ("", "account.newMissing"),
        ("a1" * 5 + "b", "account.tooShort"),  # 11 characters
        # 12 code points (23 UTF-16 units): long enough, as the API counts; but no letter.
        ("🔑" * 11 + "1", "account.needsLetter"),
        ("123456789012", "account.needsLetter"),
        ("abcdefghijkl", "account.needsDigit"),
        ("writer.Alice1", "account.notUsername"),
        ("Current-pass-1", "account.same"),
        ("x1" * 129, "account.tooLong"),
    ],
)
def test_the_new_password_is_checked_like_the_api_policy(new: str, key: str) -> None:
    values = {"current": "Current-pass-1", "next": new, "confirm": new, "username": "WRITER.alice1"}
    found = [p["key"] for p in problems(values) if p["field"] == "new_password"]
    assert found == [key]


def test_a_mismatch_is_reported_on_the_confirmation_only() -> None:
    found = problems({"current": "x", "next": "Correct-horse-7", "confirm": "Correct-horse-8"})
    assert found == [{"field": "confirm_password", "key": "account.mismatch"}]


def test_the_configured_minimum_is_the_one_applied() -> None:
    relaxed = {**POLICY, "minLength": 8, "requireDigit": False}
    assert problems({"current": "x", "next": "abcdefgh", "confirm": "abcdefgh"}, relaxed) == []


@pytest.mark.parametrize(
    "candidate",
    # Non-Latin letters and digits, a superscript digit (str.isdigit() says yes), ß.
    ["Ünïcödé-pässwörd-٣", "пароль-длинный-5", "abcdefghijk²", "Straße-1234567"],
)
def test_what_the_api_accepts_the_browser_accepts(candidate: str) -> None:
    policy = PasswordPolicy(min_length=12, require_letter=True, require_digit=True)
    assert api_policy.check_password(candidate, policy, username="writer") == candidate
    values = {"current": "x", "next": candidate, "confirm": candidate, "username": "writer"}
    assert problems(values) == []


def test_the_api_refuses_what_the_browser_lets_through_only_at_the_margins() -> None:
    # "½" is a number to the browser (\p{N}) but not a digit to the API: the
    # browser sends it and the API's message is shown next to the field.
    policy = PasswordPolicy(min_length=12, require_letter=True, require_digit=True)
    with pytest.raises(ValidationFailed):
        api_policy.check_password("abcdefghijk½", policy)
    assert problems({"current": "x", "next": "abcdefghijk½", "confirm": "abcdefghijk½"}) == []


def test_the_hint_names_the_policy() -> None:
    script = """
    import { policyHint } from "./core/passwords.js";
    console.log(JSON.stringify([
      policyHint({minLength: 12, requireLetter: true, requireDigit: true}),
      policyHint({minLength: 9}),
    ]));
    """
    assert run_node(script) == [
        {"key": "account.policyLetterDigit", "values": {"min": 12}},
        {"key": "account.policyLength", "values": {"min": 9}},
    ]
    assert (JS / "core" / "passwords.js").exists()
