"""The README's tour runs as printed (each python block in one namespace, in order)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import require

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_three_tours():
    assert len(BLOCKS) == 3


@pytest.mark.parametrize("i, framework", [(0, None), (1, "torch"), (2, "jax")])
def test_readme_block_runs(i, framework, capsys):
    if framework:
        require(framework)
    exec(compile(BLOCKS[i], f"README block {i}", "exec"), {})
    if i == 0:
        assert capsys.readouterr().out.splitlines()[0] == "0.875"
