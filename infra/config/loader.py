"""Load and check a configuration file, pointing every problem at its line.

`check_text` is the core (the API can check an uploaded document with it); `check_config` and
`load_config_file` read a path. Problems cover YAML syntax, duplicate keys, unknown keys, wrong
types and values (pydantic, strict models) and, once the schema holds, dangling references,
duplicate ids and overlapping overrides (`validate_references`).
"""

from __future__ import annotations

from difflib import get_close_matches
from functools import cache
from pathlib import Path as FilePath

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from infra.config.yaml_source import SourceMap, YamlSyntaxError, parse_with_lines
from workflows.domain.base import Frozen
from workflows.domain.config import ConfigDocument
from workflows.domain.config_validation import Path, validate_references


class Problem(Frozen):
    """One problem in a configuration file: the line, the dotted path, and what is wrong."""

    line: int
    path: str
    message: str

    def render(self, filename: str = "") -> str:
        where = f"{filename}:{self.line}" if filename else f"line {self.line}"
        return f"{where}: {self.path or '(document)'}: {self.message}"


class ConfigInvalid(ValueError):
    """The configuration has problems; not retryable until the file is fixed."""

    def __init__(self, problems: list[Problem], filename: str = "") -> None:
        self.problems = problems
        self.filename = filename
        super().__init__("\n".join(p.render(filename) for p in problems))


def dotted(path: Path) -> str:
    """`("routes", 2, "match")` as `routes[2].match`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def parse_text(text: str) -> tuple[ConfigDocument | None, list[Problem]]:
    """The document (None if the schema fails) and every problem found, in line order."""
    try:
        data, source = parse_with_lines(text)
    except YamlSyntaxError as exc:
        return None, [Problem(line=exc.line, path="", message=f"invalid YAML: {exc.message}")]
    problems = [
        Problem(line=line, path=dotted(path), message=f"key {path[-1]!r} appears twice")
        for path, line in source.duplicate_keys
    ]
    if not isinstance(data, dict):
        problems.append(Problem(line=1, path="", message="the document must be a mapping"))
        return None, problems
    try:
        doc = ConfigDocument.model_validate(data)
    except ValidationError as exc:
        problems += [_schema_problem(error, source) for error in exc.errors()]
        return None, sorted(problems, key=lambda p: p.line)
    problems += [
        Problem(line=source.line_of(p.path), path=dotted(p.path), message=p.message)
        for p in validate_references(doc)
    ]
    return doc, sorted(problems, key=lambda p: p.line)


def check_text(text: str) -> list[Problem]:
    """Every problem in the YAML `text`; empty when it is a valid configuration."""
    return parse_text(text)[1]


def check_config(path: str | FilePath) -> list[Problem]:
    """Every problem in the configuration file at `path`; empty when it is valid."""
    return check_text(FilePath(path).read_text(encoding="utf-8"))


def load_config_file(path: str | FilePath) -> ConfigDocument:
    """The valid document in `path`, or `ConfigInvalid` listing every problem with its line."""
    doc, problems = parse_text(FilePath(path).read_text(encoding="utf-8"))
    if problems or doc is None:
        raise ConfigInvalid(problems, str(path))
    return doc


def _schema_problem(error: ErrorDetails, source: SourceMap) -> Problem:
    # Union and validator steps add names to `loc` that are not in the file; drop them.
    loc = tuple(error["loc"])
    path = _known_prefix(loc, source)
    kind, message = error["type"], error["msg"]
    if kind == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}{_suggestion(str(loc[-1]))}"
    elif kind == "missing":
        message = f"missing required key {loc[-1]!r}"
        path = path[:-1] if path and path[-1] == loc[-1] else path
    elif message.startswith(("Value error, ", "Assertion failed, ")):
        message = message.split(", ", 1)[1]
    return Problem(line=source.line_of(path), path=dotted(loc if kind != "missing" else path),
                   message=message)


def _known_prefix(loc: tuple[str | int, ...], source: SourceMap) -> Path:
    kept: list[str | int] = []
    for part in loc:
        candidate = (*kept, part)
        if candidate in source.lines:
            kept.append(part)
    return tuple(kept)


def _suggestion(key: str) -> str:
    close = get_close_matches(key, _known_keys(), n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


@cache
def _known_keys() -> tuple[str, ...]:
    """Every key any configuration model accepts, for "did you mean" hints."""
    keys: set[str] = set()
    pending: list[type[BaseModel]] = [ConfigDocument]
    seen: set[type[BaseModel]] = set()
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            keys.add(field.alias or name)
            pending.extend(_models_in(field.annotation))
    return tuple(sorted(keys))


def _models_in(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    args = getattr(annotation, "__args__", ())
    return [model for arg in args for model in _models_in(arg)]
