"""The services this platform can run, imported lazily so one process loads only what it runs."""

from __future__ import annotations

from importlib import import_module

from shared.service import ServiceDefinition

SERVICES = ("intake", "router", "workflow", "analytics")


def load(name: str) -> ServiceDefinition:
    if name not in SERVICES:
        raise KeyError(f"unknown service {name!r}; choose from {', '.join(SERVICES)} or all")
    definition: ServiceDefinition = import_module(f"{name}.definition").SERVICE
    return definition


def load_many(names: str) -> list[ServiceDefinition]:
    chosen = SERVICES if names == "all" else tuple(n.strip() for n in names.split(","))
    return [load(n) for n in chosen]
