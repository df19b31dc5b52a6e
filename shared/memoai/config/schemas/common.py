"""What every configuration schema shares: the strict base model and the field types.

Owns ``Strict`` (unknown keys are errors, models are frozen) and the annotated
field types the file schemas build on: sizes such as ``2MB`` (``ByteSize``),
lists given as YAML, JSON or comma-separated text (``StrList``), blank-is-unset
strings (``OptStr``), positive and non-negative numbers, log levels and
non-empty ``Text``. ``parse_list`` and ``blank_to_none`` are also used directly
by schemas that need the same coercion on another type.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a YAML key must not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]?B?)\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2, "G": 1024**3}
_SIZE_UNITS["GB"] = 1024**3


def _parse_size(value: Any) -> Any:
    if isinstance(value, str):
        match = _SIZE_RE.match(value)
        if not match:
            raise ValueError("expected a size such as 2MB, 512KB or 1048576")
        number, unit = match.groups()
        return int(float(number) * _SIZE_UNITS[unit.upper()])
    return value


def parse_list(value: Any) -> Any:
    """Accept a YAML list, a JSON list in a string, or a comma-separated string."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not a valid JSON list: {exc.msg}") from exc
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


ByteSize = Annotated[int, BeforeValidator(_parse_size), Field(gt=0)]
StrList = Annotated[list[str], BeforeValidator(parse_list)]
OptStr = Annotated[str | None, BeforeValidator(blank_to_none)]
PosInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]
PosFloat = Annotated[float, Field(gt=0)]
LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
    BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v),
]
OptLogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] | None,
    BeforeValidator(lambda v: blank_to_none(v.upper() if isinstance(v, str) else v)),
]


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


Text = Annotated[str, AfterValidator(_non_blank)]
