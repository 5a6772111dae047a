"""YAML loading that remembers the line of every key and item, so a bad file is refused by file and line."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError


@dataclass(frozen=True)
class Problem:
    source: str
    line: int | None
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.field + ': ' if self.field else ''}{self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.source, "line": self.line, "field": self.field, "reason": self.reason}


class YamlFileError(ValueError):
    """A document that does not parse or does not validate; `problems` name file, line, field and reason."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(map(str, self.problems)))


@dataclass
class LinedDocument:
    source: str
    data: Any
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def line_of(self, path: Iterable[Any]) -> int | None:
        """Line of the deepest part of `path` the document has (a missing field points at its parent)."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get(())

    def problems(self, exc: ValidationError) -> list[Problem]:
        out = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            out.append(Problem(self.source, self.line_of(loc), dotted(loc), err["msg"]))
        return out


def load(text: str, source: str) -> LinedDocument:
    """Parse one YAML document with the safe loader, recording 1-based lines by path; duplicate keys are errors."""
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        doc = LinedDocument(source, None)
        if node is not None:
            doc.data = _build(loader, node, (), doc)
        return doc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        reason = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise YamlFileError([Problem(source, line, "", f"YAML syntax: {reason}")]) from exc
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, before any parsing
        line = text[: exc.position].count("\n") + 1
        raise YamlFileError([Problem(source, line, "", f"character {exc.character!r} is not allowed")]) from exc
    except yaml.YAMLError as exc:
        raise YamlFileError([Problem(source, None, "", f"YAML: {exc}")]) from exc
    finally:
        if loader is not None:
            loader.dispose()


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: tuple[Any, ...], doc: LinedDocument) -> Any:
    doc.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key == "<<":
                raise YamlFileError(
                    [
                        Problem(
                            doc.source, key_node.start_mark.line + 1, dotted(path), "merge keys (<<) are not supported"
                        )
                    ]
                )
            if not isinstance(key, str | int | float | bool) or key is None:
                raise YamlFileError(
                    [
                        Problem(
                            doc.source,
                            key_node.start_mark.line + 1,
                            dotted(path),
                            f"a key must be a plain value, got {type(key).__name__}",
                        )
                    ]
                )
            if key in out:
                raise YamlFileError(
                    [Problem(doc.source, key_node.start_mark.line + 1, dotted((*path, key)), "duplicate key")]
                )
            doc.lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _build(loader, value_node, (*path, key), doc)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), doc) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def dotted(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def as_mapping(doc: LinedDocument) -> Mapping[str, Any]:
    if not isinstance(doc.data, Mapping):
        raise YamlFileError([Problem(doc.source, 1, "", "expected a mapping at the top of the document")])
    return doc.data
