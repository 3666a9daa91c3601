"""YAML parsing that remembers where every value came from.

PyYAML's `compose` keeps a mark (line, column) on every node; building plain Python data from
the node tree ourselves records a line for each path (`("routes", 2, "match")`), so a pydantic
error location can be shown as a line in the user's file. Two deliberate departures from YAML
1.1 resolution: timestamps stay strings (pydantic parses them, keeping the time zone), and
sexagesimal numbers stay strings, so `start: 17:00` is a clock time rather than the integer 1020.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

Path = tuple[str | int, ...]

_KEEP_AS_TEXT = {"tag:yaml.org,2002:timestamp"}
_NUMBERS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}


@dataclass
class SourceMap:
    """Line (1-based) of each path in the document, plus problems found while reading it."""

    lines: dict[Path, int] = field(default_factory=dict)
    duplicate_keys: list[tuple[Path, int]] = field(default_factory=list)

    def line_of(self, path: Path) -> int:
        """The line of `path`, else of its nearest ancestor present in the file (1 at worst)."""
        wanted = tuple(path)
        while wanted:
            if wanted in self.lines:
                return self.lines[wanted]
            wanted = wanted[:-1]
        return self.lines.get((), 1)


class YamlSyntaxError(ValueError):
    """The text is not YAML; `line` is where the parser gave up. Fixing the file is the remedy."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


def parse_with_lines(text: str) -> tuple[object, SourceMap]:
    """Plain Python data (dicts, lists, scalars) and the line of every path in it."""
    source = SourceMap()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlSyntaxError(line, str(exc.problem or exc)) from exc
    if node is None:
        source.lines[()] = 1
        return {}, source
    return _build(node, (), source, yaml.SafeLoader("")), source


def _build(node: yaml.Node, path: Path, source: SourceMap, loader: yaml.SafeLoader) -> object:
    source.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, object] = {}
        for key_node, value_node in node.value:
            # Keys are names in our schema: keep them as written (`on`, `no` stay strings).
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            child: Path = (*path, key)
            if key in result:
                source.duplicate_keys.append((child, key_node.start_mark.line + 1))
            source.lines[child] = key_node.start_mark.line + 1
            result[key] = _build(value_node, child, source, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            source.lines[(*path, index)] = item.start_mark.line + 1
            items.append(_build(item, (*path, index), source, loader))
        return items
    if node.tag in _KEEP_AS_TEXT or (node.tag in _NUMBERS and ":" in node.value):
        return node.value
    return loader.construct_object(node, deep=True)
