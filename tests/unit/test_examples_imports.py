"""The examples are what a user's script looks like: they import `podium` and nothing else of
Podium's (no contracts, workers or workflows)."""

import ast
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.py"))


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


def test_there_are_examples() -> None:
    assert [p.name for p in EXAMPLES] == ["place_orders.py"]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_an_example_imports_only_podium_and_the_standard_library(example: Path) -> None:
    outside = {
        name
        for name in imported_modules(example)
        if name != "podium" and name.split(".")[0] not in sys.stdlib_module_names
    }
    assert outside == set()
