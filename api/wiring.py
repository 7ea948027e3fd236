"""Builds the components a command or request needs from :class:`api.settings.Settings`."""

from __future__ import annotations

from api.settings import Settings
from graph.factory import open_store
from graph.store import GraphStore


def open_graph(settings: Settings) -> GraphStore:
    """Open the configured graph store, creating its schema if needed."""
    return open_store(settings.graph_config())
