"""The README's autograd example runs and says what it claims."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def autograd_block() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Autograd in ten lines", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no ```python block under 'Autograd in ten lines'"
    return match.group(1)


def test_readme_autograd_example_runs():
    code = autograd_block()
    assert len(code.strip().splitlines()) <= 10
    env: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, str(README), "exec"), env)
    x, w, y = env["x"], env["w"], env["y"]
    # the comments' formulas hold
    np.testing.assert_allclose(x.grad, (1 - y.item() ** 2) * w.data, rtol=1e-5)
    np.testing.assert_allclose(w.grad, (1 - y.item() ** 2) * x.data, rtol=1e-5)
