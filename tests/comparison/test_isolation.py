"""The product never depends on the reference designs it is measured against."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_nothing_in_the_product_imports_the_comparison_designs():
    product = [p for package in ("payments", "config") for p in (ROOT / package).rglob("*.py")]
    product += [ROOT / "celery_app.py"]
    offenders = sorted(str(p.relative_to(ROOT)) for p in product
                       if any(m == "comparison" or m.startswith("comparison.") for m in imported_modules(p)))
    assert len(product) > 10
    assert offenders == []
