"""Read, interpolate and validate one configuration file.

Errors name the file, the field (dotted path), the line and the problem, so
both start-up and the admin editor can point at the exact spot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from memoai.config import references
from memoai.config.interpolate import InterpolationError, Lookup, interpolate_tree
from memoai.config.schemas import FILE_SCHEMAS

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    field: str | None
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f" [{self.field}]"
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "field": self.field, "line": self.line, "message": self.message}


class ConfigError(Exception):
    """One or more configuration files are invalid."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def file_name(config_type: str) -> str:
    return f"{config_type}.yaml"


def parse_yaml(text: str, fname: str) -> tuple[Any, yaml.Node | None]:
    """Parse YAML, returning the data and the node tree (for line numbers)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or str(exc)
        raise ConfigError([ConfigProblem(fname, None, f"invalid YAML: {problem}", line)]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigProblem(fname, None, f"invalid YAML: {exc}")]) from exc
    return data, node


def _line_for(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Walk the YAML node tree along a pydantic error location to find its line."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    current: yaml.Node = node
    for part in loc:
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                if str(key_node.value) == str(part):
                    current = value_node
                    line = key_node.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(current.value):
                return line
            current = current.value[part]
            line = current.start_mark.line + 1
        else:
            return line
    return line


def validate_data(
    config_type: str,
    data: Any,
    lookup: Lookup,
    node: yaml.Node | None = None,
    *,
    mode: references.Mode = "startup",
    existing: Mapping[references.Path, str] | None = None,
) -> BaseModel:
    fname = file_name(config_type)
    schema = FILE_SCHEMAS[config_type]
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(fname, None, "the file must contain a YAML mapping")])
    # Before anything is resolved: a refused reference is never even looked up.
    refused = references.check(config_type, data, mode, existing)
    if refused:
        raise ConfigError(
            ConfigProblem(
                fname,
                ".".join(str(p) for p in r.path) or None,
                r.message,
                _line_for(node, r.path),
            )
            for r in refused
        )
    try:
        resolved = interpolate_tree(data, lookup)
    except InterpolationError as exc:
        raise ConfigError([ConfigProblem(fname, None, str(exc))]) from exc
    try:
        return schema.model_validate(resolved)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
            field = ".".join(str(p) for p in loc) or None
            problems.append(ConfigProblem(fname, field, err["msg"], _line_for(node, loc)))
        raise ConfigError(problems) from exc


def validate_text(
    config_type: str,
    text: str,
    lookup: Lookup,
    *,
    mode: references.Mode = "startup",
    existing: Mapping[references.Path, str] | None = None,
) -> BaseModel:
    """Validate a file's content: as read at start-up, or proposed by the admin API
    (`mode="admin"`, with `existing` the references of the file it would replace)."""
    if config_type not in FILE_SCHEMAS:
        raise ConfigError([ConfigProblem(config_type, None, "unknown configuration file")])
    data, node = parse_yaml(text, file_name(config_type))
    return validate_data(config_type, data, lookup, node, mode=mode, existing=existing)


def read_file(config_dir: Path, config_type: str) -> str:
    path = config_dir / file_name(config_type)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            [ConfigProblem(file_name(config_type), None, f"file not found in {config_dir}")]
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            [ConfigProblem(file_name(config_type), None, f"cannot read file: {exc}")]
        ) from exc


def load_file(config_dir: Path, config_type: str, lookup: Lookup, model: type[M]) -> M:
    result = validate_text(config_type, read_file(config_dir, config_type), lookup)
    assert isinstance(result, model)
    return result
