"""The researcher's tutorial as a notebook (docs/tutorials/first-release.ipynb): exactly what
``scripts/tutorial_notebook.py`` makes of docs/tutorials/first-release.md, and run with
nbclient in a Python kernel against the dummy service, every cell without an error and every
chart drawn as an image. The executed notebook, plots and all, is kept in
``$MEDLER_TEST_ARTEFACTS`` (default ``test-artefacts/notebooks``)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.docs.test_docs import load_script
from tests.dummy_service import DummyService, dummy_service

__all__ = ["dummy_service"]

REPO = Path(__file__).resolve().parents[2]
TUTORIAL = REPO / "docs" / "tutorials" / "first-release.md"
NOTEBOOK = REPO / "docs" / "tutorials" / "first-release.ipynb"
ARTEFACTS = Path(os.environ.get("MEDLER_TEST_ARTEFACTS") or REPO / "test-artefacts") / "notebooks"
# the tutorial test's own reading of the Python blocks (tests/docs/test_researcher_tutorial.py)
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
DRAWS = re.compile(r"\.plot\(")


def test_the_committed_notebook_is_what_the_script_makes_of_the_tutorial() -> None:
    script = load_script("tutorial_notebook")
    assert NOTEBOOK.read_text(encoding="utf-8") == script.render(), (
        f"{NOTEBOOK.relative_to(REPO)} is out of date: run `{script.REFRESH}`"
    )


def test_the_notebook_has_the_tutorial_s_python_blocks_as_its_code_cells_in_order() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [c.source for c in notebook.cells if c.cell_type == "code"]
    blocks = [b.strip("\n") for b in BLOCK.findall(TUTORIAL.read_text(encoding="utf-8"))]
    assert code == blocks
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")
    text = "\n".join(c.source for c in notebook.cells)
    assert "medler serve --dummy" in text and "## 13. The same against the real service" in text


def test_the_generator_reads_fences_as_a_markdown_reader_does() -> None:
    script = load_script("tutorial_notebook")
    markdown = "\n".join(
        [
            "# Title",
            "",
            "Intro.",
            "",
            "```bash",
            "medler serve --dummy",
            "```",
            "",
            "````markdown",
            "```python",
            "not code: inside another fence",
            "```",
            "````",
            "~~~python",
            "a = 1",
            "~~~",
            "",
            "Between.",
            "```python",
            "",
            "b = a + 1",
            "",
            "```",
            "```python",
            "b = a + 1",
            "```",
            "```Python",
            "c = 3",
            "```",
        ]
    )
    blocks = script.split_tutorial(markdown)
    assert [(b.kind, b.text) for b in blocks] == [
        (
            "markdown",
            "# Title\n\nIntro.\n\n```bash\nmedler serve --dummy\n```\n\n````markdown\n"
            "```python\nnot code: inside another fence\n```\n````",
        ),
        ("code", "a = 1"),
        ("markdown", "Between."),
        ("code", "b = a + 1"),
        ("code", "b = a + 1"),
        ("code", "c = 3"),
    ]
    notebook = script.build_notebook(markdown)
    ids = [c.id for c in notebook.cells]
    assert len(ids) == len(set(ids))  # the same text twice still has two ids
    assert notebook.cells[0].source.startswith("# Title\n\n*This notebook is made from")
    # an unclosed fence runs to the end, as in a markdown reader
    assert script.split_tutorial("```python\nx = 1\n") == [script.Block("code", "x = 1")]


@pytest.mark.slow
def test_the_notebook_runs_against_the_dummy_service_and_draws_its_charts(
    dummy_service: DummyService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # the kernel inherits the environment: this tree's code, the service and its tokens, and
    # the kernel's own inline charts (no backend chosen from outside)
    paths = [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    monkeypatch.setenv("MEDLER_URL", dummy_service.url)
    monkeypatch.setenv("MEDLER_TOKEN", dummy_service.researcher_token)
    monkeypatch.setenv("MEDLER_DPO_TOKEN", dummy_service.dpo_token)
    monkeypatch.delenv("MEDLER_PROJECT", raising=False)
    monkeypatch.delenv("MPLBACKEND", raising=False)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    try:
        client.execute()
    finally:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, ARTEFACTS / NOTEBOOK.name)

    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    drawing = [c for c in code if DRAWS.search(c.source)]
    assert len(drawing) >= 8
    for cell in drawing:
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert images, f"a chart cell drew no image:\n{cell.source}"
    text = "".join(o.get("text", "") for c in code for o in c.outputs)
    assert "released" in text and "held" in text
    assert "DummyDataWarning" in text  # the warning, once
    assert dummy_service.researcher_token not in text
    assert (tmp_path / "absence-by-grade.csv").exists()  # files land beside the notebook
