"""The exception hierarchy shared by every layer.

Every error Vidya raises on purpose derives from :class:`VidyaError`, so the CLI
and the HTTP layer can turn it into one readable line (or one JSON error shape)
without catching unrelated bugs. Messages name the file, field or URI at fault
and what was expected.
"""

from __future__ import annotations


class VidyaError(Exception):
    """Root of every error Vidya raises deliberately."""


class SchemaError(VidyaError):
    """A node or edge does not fit the schema (unknown label, bad endpoint, bad id)."""


class RecordError(VidyaError):
    """A record's field has a value of the wrong shape."""


class StoreError(VidyaError):
    """A graph store could not carry out an operation."""


class StoreUnavailable(StoreError):
    """A graph store could not be reached or opened (the URI or path is named)."""


class StoreRetryable(StoreError):
    """A write failed on a transient condition (the URI and cause are named).

    The batch was rolled back whole; running it again may succeed.
    """


class NotFound(VidyaError):
    """A node, edge or file that was asked for does not exist."""


class FormatError(VidyaError):
    """Input in a format Vidya reads is malformed (file and position are named)."""


class ConfigError(VidyaError):
    """A setting has a value Vidya cannot use (the variable is named)."""
