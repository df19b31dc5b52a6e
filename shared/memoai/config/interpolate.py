"""`${VAR}` / `${VAR:-default}` interpolation with `VAR_FILE` secrets.

Values are substituted as strings; typing is left to the pydantic schemas so a
secret such as "0123" is never turned into a number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

Lookup = Callable[[str], str | None]


class InterpolationError(ValueError):
    pass


def env_lookup(environ: Mapping[str, str], profile_defaults: Mapping[str, str]) -> Lookup:
    """Resolve a variable: the environment, then `NAME_FILE`, then the profile's default."""

    def lookup(name: str) -> str | None:
        if name in environ:
            return environ[name]
        file_path = environ.get(f"{name}_FILE")
        if file_path:
            try:
                return Path(file_path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise InterpolationError(
                    f"{name}_FILE points to {file_path!r}, which cannot be read ({exc.strerror})"
                ) from exc
        return profile_defaults.get(name)

    return lookup


def interpolate(text: str, lookup: Lookup) -> str:
    """Replace every `${...}` in ``text``; defaults may nest (`${A:-${B:-x}}`)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
            continue
        if text.startswith("${", i):
            end = _matching_brace(text, i + 2)
            out.append(_resolve(text[i + 2 : end], lookup))
            i = end + 1
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def _matching_brace(text: str, start: int) -> int:
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise InterpolationError(f"unclosed '${{' in {text!r}")


def _resolve(expr: str, lookup: Lookup) -> str:
    name, sep, default = expr.partition(":-")
    name = name.strip()
    if not name.replace("_", "").isalnum():
        raise InterpolationError(f"invalid variable name {name!r}")
    value = lookup(name)
    if value is not None and (value != "" or not sep):
        return value
    return interpolate(default, lookup) if sep else ""


def interpolate_tree(node: Any, lookup: Lookup) -> Any:
    """Interpolate every string inside parsed YAML (keys are left alone)."""
    if isinstance(node, str):
        return interpolate(node, lookup) if "$" in node else node
    if isinstance(node, list):
        return [interpolate_tree(item, lookup) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_tree(value, lookup) for key, value in node.items()}
    return node
