"""Every event type, its body model and its topic; building and reading envelopes."""

from __future__ import annotations

from typing import Any, TypeVar

from shared.contracts import cases, reports, routing
from shared.contracts.common import Contract
from shared.contracts.envelope import Envelope

C = TypeVar("C", bound=Contract)

_MODULES = (reports, routing, cases)

EVENT_TYPES: dict[str, tuple[type[Contract], str]] = {}
for _module in _MODULES:
    for _value in vars(_module).values():
        if isinstance(_value, type) and issubclass(_value, Contract) and "type" in _value.model_fields:
            _default = _value.model_fields["type"].default
            if isinstance(_default, str):
                EVENT_TYPES[_default] = (_value, _module.TOPIC)

TOPICS: tuple[str, ...] = tuple(m.TOPIC for m in _MODULES)


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def topic_of(body: Contract) -> str:
    return EVENT_TYPES[_type_of(body)][1]


def _type_of(body: Contract) -> str:
    value = getattr(body, "type", None)
    if not isinstance(value, str) or value not in EVENT_TYPES:
        raise KeyError(f"unregistered event body {type(body).__name__}")
    return value


def make_envelope(body: Contract, *, source: str, subject: str, **extensions: Any) -> Envelope:
    """Wrap a contract body; `reportid`/`caseid` extensions let logs follow one report across services.

    The producer's side of the contract: a body with fields its model does not declare is refused here.
    """
    if body.model_extra:
        raise TypeError(f"{type(body).__name__} has no field {', '.join(sorted(body.model_extra))}")
    data = body.model_dump(mode="json", exclude_none=True)
    event_type = data.pop("type")
    _type_of(body)
    for field in ("report_id", "case_id"):
        if field in data and field.replace("_", "") not in extensions:
            extensions[field.replace("_", "")] = data[field]
    return Envelope(source=source, type=event_type, subject=subject, data=data, **extensions)


def parse_body(envelope: Envelope) -> Contract:
    """The typed body of an envelope; raises KeyError for an unknown type, ValidationError for a bad body."""
    model, _ = EVENT_TYPES[envelope.type]
    return model.model_validate({**envelope.data, "type": envelope.type})


def parse_as(envelope: Envelope, model: type[C]) -> C:
    body = parse_body(envelope)
    if not isinstance(body, model):
        raise TypeError(f"{envelope.type} is not a {model.__name__}")
    return body


def asyncapi_document() -> dict[str, Any]:
    """One AsyncAPI 2.6 document of every topic and message, for other teams to read."""
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Envelope": Envelope.model_json_schema(ref_template="#/components/schemas/{model}")}
    for event_type, (model, topic) in sorted(EVENT_TYPES.items()):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas.setdefault(name, sub)
        schemas[model.__name__] = schema
        messages[model.__name__] = {
            "name": event_type,
            "title": model.__name__,
            "summary": (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else event_type,
            "contentType": "application/cloudevents+json",
            "headers": {"$ref": "#/components/schemas/Envelope"},
            "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
        }
        channel = channels.setdefault(topic, {"subscribe": {"message": {"oneOf": []}}})
        channel["subscribe"]["message"]["oneOf"].append({"$ref": f"#/components/messages/{model.__name__}"})
    return {
        "asyncapi": "2.6.0",
        "info": {"title": "CityLoop city events", "version": "1"},
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "components": {"messages": messages, "schemas": schemas},
    }
