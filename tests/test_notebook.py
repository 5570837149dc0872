"""The example notebook, executed on a real kernel (nbclient + ipykernel), and what its cells display.

The notebook is kept without outputs: this test produces them. Locally it is skipped when nbclient, nbformat or
ipykernel is missing; in CI (``CI`` set) they come with the ``test`` extra, and their absence is a failure.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from pathlib import Path

import pytest

IN_CI = bool(os.environ.get("CI"))
ROOT = Path(__file__).resolve().parent.parent
TOUR = ROOT / "examples" / "tour.ipynb"
CELL_SECONDS = 300
STEP_IDS = ["F0", "F1", "F2", "F3", "F4", "F5", "F6", "B0", "B1", "B2", "B3", "B4", "B5", "B6", "D1", "D2", "D3", "D4"]


def _require(module: str):
    """The module, or a skip saying what to install (never in CI, where the test extra installs it)."""
    if IN_CI:
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=f"{module} is not installed (pip install -e '.[notebook]')")


def test_the_notebook_is_saved_without_outputs():
    notebook = json.loads(TOUR.read_text(encoding="utf-8"))
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code, "the tour has code cells"
    assert all(cell["outputs"] == [] and cell["execution_count"] is None for cell in code), \
        "clear the outputs of examples/tour.ipynb before committing it"
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"


@pytest.fixture(scope="module")
def executed():
    nbformat = _require("nbformat")
    nbclient = _require("nbclient")
    _require("ipykernel")
    notebook = nbformat.read(TOUR, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=CELL_SECONDS, startup_timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()           # raises CellExecutionError if a cell fails
    return notebook


def _cell(notebook, needle: str):
    """The code cell whose source contains ``needle``."""
    return next(cell for cell in notebook.cells if cell.cell_type == "code" and needle in cell.source)


def _data(cell, mime: str) -> str:
    found = [output["data"][mime] for output in cell.outputs
             if output.get("output_type") in ("execute_result", "display_data") and mime in output.get("data", {})]
    assert found, f"no {mime} output in cell {cell.source!r}"
    text = "".join(found[0]) if isinstance(found[0], list) else found[0]
    return " ".join(text.split()) if mime == "text/plain" else text      # IPython breaks long reprs over lines


def test_no_cell_errored(executed):
    for cell in executed.cells:
        if cell.cell_type == "code":
            assert cell.execution_count is not None
            assert not [o for o in cell.outputs if o.get("output_type") == "error"], cell.source
            stderr = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stderr")
            assert "Traceback" not in stderr and "Error" not in stderr, cell.source


def test_the_verified_report_shows_every_step_with_a_tick(executed):
    html = _data(_cell(executed, 'report = derivation.verify("glorot")'), "text/html")
    for step_id in STEP_IDS:
        row = re.search(rf'<td class="dv-id">{step_id}</td>.*?</tr>', html, re.S)
        assert row, f"no row for {step_id}"
        assert "✓ verified" in row.group(0)
    assert "✗" not in html
    assert "18 of 18 steps verified" in html
    assert html.count("<math") > 18 and "<script" not in html.lower()
    markdown = _data(_cell(executed, 'report = derivation.verify("glorot")'), "text/markdown")
    assert "✓ 18 of 18 steps verified" in markdown
    text = _data(_cell(executed, 'report = derivation.verify("glorot")'), "text/plain")
    assert "18/18 steps verified" in text


def test_sympy_objects_come_out_as_sympy(executed):
    assert _data(_cell(executed, "report.ok, report.verified"), "text/plain") == "(True, 18, 18)"
    assert _data(_cell(executed, "step.derived  "), "text/plain") == "Var[W[i]]*Var[z[i]]*n[i]"
    assert _data(_cell(executed, "bound.rhs.subs"), "text/plain") == "0.05799"


def test_a_single_step_displays_itself(executed):
    html = _data(_cell(executed, 'report.step("D1")'), "text/html")
    assert "D1" in html and "harmonic averaging" in html and "✓ verified" in html
    assert "from F6" in html and "from B6" in html


def test_the_sigmoid_fails_visibly(executed):
    html = _data(_cell(executed, 'activation="sigmoid"'), "text/html")
    assert "✗" in html and "not" in html
    assert "assumption A1 fails for sigmoid" in html
    assert "✗ wrong" in html and "rule derives" in html
    assert _data(_cell(executed, "sigmoid.ok, "), "text/plain").startswith("(False, [('F1', 'assumption')")


def test_a_wrong_claim_from_a_string_is_refuted(executed):
    html = _data(_cell(executed, 'derivation.loads(text'), "text/html")
    assert "✗ wrong" in html and "rule derives" in html and "counterexample" in html
    fields = _data(_cell(executed, "d1.verdict"), "text/plain")
    assert fields.startswith("('wrong', Eq(Var[W[i]], 3/(n[i + 1] + n[i])), Eq(Var[W[i]], 2/(n[i + 1] + n[i]))")


def test_the_he_results(executed):
    html = _data(_cell(executed, 'he = derivation.verify("he")'), "text/html")
    assert "11 of 11 steps verified" in html and "✓ established" in html and "✗" not in html
    results = _data(_cell(executed, "he.results]"), "text/plain")
    assert "Eq(Var[W[i]], 2/n[i])" in results and "False" not in results
    assert "20000/(10001*n[i])" in _data(_cell(executed, "slope=0.01"), "text/plain")


def test_errors_print_the_command_lines_message(executed):
    cell = _cell(executed, 'derivation.load("glorrot")')
    printed = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    assert printed.startswith("glorrot: no such file, and not a built-in derivation")
    assert "did you mean 'glorot'" in printed
