"""YAML read into plain Python values while remembering the line each value came from.

An admin editing the routing table needs errors that point at the line to fix, and PyYAML's
plain `safe_load` throws the positions away; composing the node tree keeps them.
"""

from __future__ import annotations

from typing import Any

import yaml


class Located:
    """Line numbers (1-based) of every value, keyed by its path from the document root."""

    def __init__(self) -> None:
        self.lines: dict[tuple[Any, ...], int] = {}

    def line(self, *path: Any) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


class YamlError(ValueError):
    """The text is not YAML at all; carries the line PyYAML stopped at."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


def load_located(text: str) -> tuple[Any, Located]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise YamlError(f"not valid YAML: {exc.problem}", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"not valid YAML: {exc}") from None
    located = Located()
    if node is None:
        return None, located
    return _convert(node, (), located), located


def _convert(node: yaml.Node, path: tuple[Any, ...], located: Located) -> Any:
    located.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if key in out:
                raise YamlError(f"duplicate key {key!r}", key_node.start_mark.line + 1)
            out[key] = _convert(value_node, (*path, key), located)
            located.lines[(*path, key)] = key_node.start_mark.line + 1  # the key's line, not the value's
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), located) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    """A scalar with YAML's usual typing (numbers, booleans, dates) via the safe constructor."""
    if not isinstance(node, yaml.ScalarNode):
        raise YamlError("a key must be a plain value", node.start_mark.line + 1)
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node)
    except ValueError:  # e.g. 2027-13-01 looks like a date but is none: let the checks name it
        return node.value
    finally:
        loader.dispose()
