"""The ``vidya`` command line.

Every command takes ``--home DIR`` (the data directory, default ``./.vidya`` or
``VIDYA_HOME``) and ``--json`` for machine-readable output. Errors are one line
on stderr and a non-zero exit::

    $ vidya stats --json
    {"nodes": {"Service": 12, ...}, "relationships": {"DEPENDS_ON": 30, ...}}
"""

from __future__ import annotations

import logging
import sys

import click

from api import cli_demo, cli_diagnose, cli_eval, cli_graph, cli_ingest, cli_memory, cli_remediate, cli_search
from api.output import fail
from graph.errors import VidyaError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="vidya")
def cli() -> None:
    """Vidya: the knowledge graph of your operations.

    Runbooks, deploys, alerts, incidents, the service catalogue and code
    provenance in one graph, for on-call people and their agents.
    """


def main() -> None:
    """Entry point: run the CLI and turn Vidya errors into one line and exit 1."""
    # rdflib logs a traceback for each ill-typed literal; the error we raise says it in one line
    logging.getLogger("rdflib.term").setLevel(logging.CRITICAL)
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # recoverable damage is not the user's problem
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        fail("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except VidyaError as exc:
        fail(str(exc))
        sys.exit(1)
    except (BrokenPipeError, KeyboardInterrupt):
        sys.exit(130)


for _command in [*cli_graph.COMMANDS, *cli_ingest.COMMANDS, *cli_demo.COMMANDS, *cli_diagnose.COMMANDS, *cli_remediate.COMMANDS,
                 *cli_memory.COMMANDS, *cli_search.COMMANDS, *cli_eval.COMMANDS]:
    cli.add_command(_command)

if __name__ == "__main__":
    main()
