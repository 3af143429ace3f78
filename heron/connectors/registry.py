"""The connectors an installation has: built from the settings on first use."""

from __future__ import annotations

from heron.config import (
    DovecotSettings,
    GraphSettings,
    ManagementApiSettings,
    PostfixSettings,
    Settings,
)
from heron.connectors.base import Connector, Operation


def build(settings: Settings) -> dict[str, Connector]:
    """One connector per ``[[connectors]]`` entry, by name. A credential that
    cannot be read stops here with a ConfigError naming the connector."""
    built: dict[str, Connector] = {}
    for entry in settings.connectors:
        if isinstance(entry, DovecotSettings):
            from heron.connectors.dovecot import DovecotConnector

            built[entry.name] = DovecotConnector(entry)
        elif isinstance(entry, PostfixSettings):
            from heron.connectors.postfix import PostfixConnector

            built[entry.name] = PostfixConnector(entry)
        elif isinstance(entry, GraphSettings):
            from heron.connectors.graph import GraphConnector

            built[entry.name] = GraphConnector(entry)
        elif isinstance(entry, ManagementApiSettings):
            from heron.connectors.management_api import ManagementApiConnector

            built[entry.name] = ManagementApiConnector(entry)
    return built


def with_operation(
    connectors: dict[str, Connector], operation: Operation
) -> list[Connector]:
    return [c for c in connectors.values() if c.supports(operation)]
