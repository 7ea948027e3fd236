"""Every notebook in ``notebooks/`` runs from top to bottom without an error (they are never left stale).

Each notebook runs in a fresh ``python3`` kernel started from this interpreter,
so it sees the same environment (and the same editable install) as the tests.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# jupyter_core before 5.9 warns on import that its paths move to platformdirs unless this is set, and
# warnings are errors here; the kernels started below inherit it too
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from traitlets import default

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT = 300  # seconds; the quickstart's slowest cell (ingesting the demo estate) takes ~10 s
#: prepended to each notebook in memory: tells which environment the kernel runs in
WHERE = "import sys\nprint(sys.prefix)"


class ThisEnvironmentKernel(AsyncKernelManager):
    """Starts ipykernel's own ``python3`` spec, ``[sys.executable, -m, ipykernel_launcher]``.

    With no kernel directories to search, a ``python3`` kernelspec installed for
    the user or the system cannot stand in for this environment.
    """

    @default("kernel_spec_manager")
    def _no_kernel_dirs(self) -> KernelSpecManager:
        return KernelSpecManager(kernel_dirs=[])


def _stderr(nb: nbformat.NotebookNode) -> list[str]:
    return [out.text for cell in nb.cells for out in cell.get("outputs", []) if out.get("name") == "stderr"]


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "notebooks/ has no notebook"


def test_notebooks_are_committed_without_outputs() -> None:
    with_outputs = [
        nb_path.name
        for nb_path in NOTEBOOKS
        for cell in nbformat.read(nb_path, as_version=4).cells
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert with_outputs == []


@pytest.mark.slow
@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(nb_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # what a failing notebook leaves in temp dirs lands here
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(WHERE, id="where"))
    client = NotebookClient(
        nb,
        kernel_name="python3",
        kernel_manager_class=ThisEnvironmentKernel,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(nb_path.parent)}},
    )

    client.execute()  # raises CellExecutionError (with the cell and traceback) when a cell fails

    assert nb.cells[0].outputs[0].text.strip() == sys.prefix, "the kernel runs in another environment"
    assert _stderr(nb) == [], "a cell wrote to stderr (a warning?)"
