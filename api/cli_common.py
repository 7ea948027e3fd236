"""What every CLI command shares: ``--home``, ``--json`` and the settings they select."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from api.settings import Settings
from api.wiring import open_graph
from graph.errors import ConfigError
from graph.store import GraphStore


@dataclass
class Invocation:
    """What every command receives: the settings and whether to print JSON."""

    settings: Settings
    as_json: bool

    def graph(self) -> GraphStore:
        return open_graph(self.settings)


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, naming the ``VIDYA_*`` variable at fault when one is invalid."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"setting VIDYA_{field.upper()}: {first['msg']}") from None


def vidya_command(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add the options every command shares and build the :class:`Invocation`."""

    @click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
    @click.option(
        "--home",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Data directory (default: $VIDYA_HOME or ./.vidya).",
    )
    @functools.wraps(fn)
    def wrapper(*args: Any, home: Path | None, as_json: bool, **kwargs: Any) -> Any:
        overrides: dict[str, Any] = {"home": home} if home is not None else {}
        return fn(Invocation(load_settings(**overrides), as_json), *args, **kwargs)

    return wrapper


