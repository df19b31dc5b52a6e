"""Whether a caller-supplied string can reach the database at all.

PostgreSQL refuses NUL characters in text and both drivers refuse lone UTF-16
surrogates (valid in JSON, not in UTF-8). A lookup by such a string can only
miss, so repositories answer "not found" instead of letting the driver raise.
"""

from __future__ import annotations


def storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def make_storable(text: str) -> str:
    """A loggable stand-in for an arbitrary string (audit rows record what was sent)."""
    if storable(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
