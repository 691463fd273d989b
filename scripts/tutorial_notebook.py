"""Write the researcher's tutorial as a Jupyter notebook (docs/tutorials/first-release.ipynb).

    python scripts/tutorial_notebook.py

The notebook is made from docs/tutorials/first-release.md and nothing else: each ```python
block becomes a code cell, in order, and the prose between them (with its other blocks, such
as the shell commands) a markdown cell, so the two never drift. The notebook is committed
without outputs; a test (``tests/docs/test_tutorial_notebook.py``) fails when it differs from
what this script writes, and another runs it against the dummy service with nbclient. Cell ids
are derived from the cells' text, so a change to one block changes only its own cell.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
TUTORIAL = REPO / "docs" / "tutorials" / "first-release.md"
NOTEBOOK = TUTORIAL.with_suffix(".ipynb")
REFRESH = "python scripts/tutorial_notebook.py"

# a fence opens with three or more backticks or tildes and an info string (```python); it is
# closed by a line of at least as many of the same character, and nothing else
_OPEN = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\s`]*)[^`]*$")

PREAMBLE = f"""\
*This notebook is made from [first-release.md](first-release.md) by
`scripts/tutorial_notebook.py`: change the tutorial, then run `{REFRESH}`.*

Before you run it, start the dummy service (`medler serve --dummy`) and start Jupyter with
`MEDLER_URL`, `MEDLER_TOKEN` and `MEDLER_DPO_TOKEN` set as in step 3, so that no token is
written in the notebook. Then run the cells in order."""


@dataclass(frozen=True)
class Block:
    """A run of the tutorial: Python code, or markdown (prose and any non-Python blocks)."""

    kind: str  # "code" or "markdown"
    text: str


def split_tutorial(markdown: str) -> list[Block]:
    """The tutorial as alternating markdown and Python blocks, in order."""
    blocks: list[Block] = []
    prose: list[str] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        opened = _OPEN.match(lines[i])
        if opened is None:
            prose.append(lines[i])
            i += 1
            continue
        fence, indent = opened["fence"], len(opened["indent"])
        close = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = next((j for j in range(i + 1, len(lines)) if close.match(lines[j])), len(lines))
        if opened["info"].lower() in ("python", "py", "python3"):
            _flush(prose, blocks)
            body = [
                line[indent:] if line[:indent].isspace() else line for line in lines[i + 1 : end]
            ]
            blocks.append(Block("code", "\n".join(body).strip("\n")))
        else:
            prose.extend(lines[i : end + 1])
        i = end + 1
    _flush(prose, blocks)
    return blocks


def _flush(prose: list[str], blocks: list[Block]) -> None:
    text = "\n".join(prose).strip("\n")
    prose.clear()
    if text.strip():
        blocks.append(Block("markdown", text))


def _cell_id(text: str, taken: set[str]) -> str:
    base = hashlib.sha256(text.encode()).hexdigest()[:12]
    cell_id, n = base, 1
    while cell_id in taken:  # the same text twice: a suffix keeps the ids unique
        n += 1
        cell_id = f"{base}-{n}"
    taken.add(cell_id)
    return cell_id


def build_notebook(markdown: str) -> nbformat.NotebookNode:
    """The notebook for the tutorial's text: its title, a note on where it comes from, then
    the tutorial's blocks as cells."""
    blocks = split_tutorial(markdown)
    if blocks and blocks[0].kind == "markdown" and blocks[0].text.startswith("# "):
        title, _, rest = blocks[0].text.partition("\n")
        head = [Block("markdown", f"{title}\n\n{PREAMBLE}")]
        blocks = head + ([Block("markdown", rest.strip("\n"))] if rest.strip() else []) + blocks[1:]
    else:
        blocks = [Block("markdown", PREAMBLE), *blocks]
    taken: set[str] = set()
    cells = []
    for block in blocks:
        make = nbformat.v4.new_code_cell if block.kind == "code" else nbformat.v4.new_markdown_cell
        cells.append(make(block.text, id=_cell_id(block.text, taken)))
    notebook = nbformat.v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.validate(notebook)
    return notebook


def render(tutorial: Path = TUTORIAL) -> str:
    """The notebook's file, as this script writes it."""
    notebook = build_notebook(tutorial.read_text(encoding="utf-8"))
    return nbformat.writes(notebook) + "\n"


def main() -> None:
    NOTEBOOK.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {NOTEBOOK.relative_to(REPO)}\n")


if __name__ == "__main__":
    main()
