"""Regenerate the demo's student notebooks in grader/demo/nb/ (run from the repo root).

Kept as a script so the notebooks in the package are reproducible; they are
committed so `grader demo` needs nothing but the package.
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

OUT = Path("grader/demo/nb")
SUMMARY = (
    "Deep learning learns representations from data instead of hand-written rules. "
    "The chapter walks through the key ingredients: data, a model, an objective function "
    "and an optimisation algorithm, and how they fit together."
)


def notebook(*cells: nbformat.NotebookNode, colab: bool = False) -> nbformat.NotebookNode:
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    if colab:  # what Colab's "Save a copy in GitHub" writes
        nb.metadata["colab"] = {"name": "week.ipynb", "provenance": []}
        nb.metadata["accelerator"] = "GPU"
    return nb


def tagged(source: str, tag: str) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.metadata["tags"] = [tag]
    return cell


NOTEBOOKS = {
    "w1-complete": notebook(
        new_markdown_cell("# Week 1"),
        new_markdown_cell("## Exercise 1: square"),
        new_code_cell("def square(x):\n    return x * x\n\nsquare(4)"),
        new_markdown_cell("## Exercise summary"),
        new_markdown_cell(SUMMARY),
    ),
    "w1-incomplete": notebook(
        new_markdown_cell("## Exercise 1"),
        new_code_cell("def square(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
        new_markdown_cell("## Exercise summary"),
        new_markdown_cell("Deep learning is neat."),
    ),
    "w1-error": notebook(
        tagged("def square(x):\n    return x * x\n\nsquare('3')", "exercise-1"),
        new_markdown_cell("### Exercise summary\n"),
        new_markdown_cell(SUMMARY),
        colab=True,
    ),
    "w2-complete": notebook(
        new_markdown_cell("## Exercise backward"),
        new_code_cell("def backward(w, x, y):\n    return 2 * x * (w * x - y)"),
    ),
    "w2-wrong": notebook(
        new_markdown_cell("## Exercise backward"),
        new_code_cell("def backward(w, x, y):\n    return x * (w * x - y)  # forgot the 2"),
    ),
    "w3-complete": notebook(
        new_markdown_cell("## Exercise 1"),
        new_code_cell(
            "import math\n\ndef softmax(xs):\n    m = max(xs)\n"
            "    e = [math.exp(x - m) for x in xs]\n    s = sum(e)\n    return [v / s for v in e]"
        ),
        new_markdown_cell("## Exercise 2"),
        new_markdown_cell("So that `exp` never overflows: the largest exponent becomes 0."),
    ),
    "w3-incomplete": notebook(
        new_markdown_cell("## Exercise 1"),
        new_code_cell(
            "def softmax(xs):\n    e = [2.718281828 ** x for x in xs]\n    return e / sum(e)"
        ),
        new_code_cell("softmax([1.0, 2.0])"),
    ),
}

for name, nb in NOTEBOOKS.items():
    nbformat.validate(nb)
    nbformat.write(nb, OUT / f"{name}.ipynb")
    print("wrote", OUT / f"{name}.ipynb")  # noqa: T201
