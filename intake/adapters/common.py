"""Helpers every adapter uses: strict reading of a channel's format into its model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared.errors import Invalid

M = TypeVar("M", bound=BaseModel)


def storable(value: Any) -> bool:
    """PostgreSQL text and JSONB hold neither NUL characters nor unpaired surrogates (valid in JSON escapes)."""
    if isinstance(value, str):
        if "\x00" in value:
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(storable(k) and storable(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(storable(v) for v in value)
    return True


UNSTORABLE = "text must not contain NUL characters or unpaired surrogates"


def require_storable(value: Any, field: str) -> None:
    if not storable(value):
        raise Invalid(UNSTORABLE, field=field)


def field_of(error: ValidationError) -> tuple[str, str]:
    """(dotted field path, reason) of a validation error's first complaint."""
    first = error.errors(include_url=False)[0]
    path = ".".join(str(part) for part in first["loc"]) or "body"
    return path, first["msg"]


def read(model: type[M], raw: Mapping[str, Any] | Any) -> M:
    """Validate `raw` as `model`; refuse with 422 naming the first bad field."""
    if not isinstance(raw, Mapping):
        raise Invalid(f"expected an object, got {type(raw).__name__}", field="body")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        field, reason = field_of(exc)
        raise Invalid(reason, field=field) from exc
