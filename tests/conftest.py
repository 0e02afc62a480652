"""The test matrix's backends, modelled on array-api-extra's conftest.

``LOSSES_BACKENDS=torch,jax`` (set by the nox sessions) restricts the run to those
backends; by default every installed backend runs. A backend whose framework is missing is
skipped (import-skip); the ``skip_backend``/``xfail_backend`` markers skip or xfail one
backend for one test, with a reason.
"""

from __future__ import annotations

import enum
import os

import numpy as np
import pytest

from losses import _check


class Backend(str, enum.Enum):
    NUMPY = "numpy"
    STRICT = "strict"
    TORCH = "torch"
    JAX = "jax"
    CUPY = "cupy"

    @property
    def module(self) -> str:
        return {"strict": "array_api_strict"}.get(self.value, self.value)


def selected() -> list[Backend]:
    env = os.environ.get("LOSSES_BACKENDS", "").strip()
    if not env:
        return list(Backend)
    names = [n.strip() for n in env.split(",") if n.strip()]
    unknown = [n for n in names if n not in Backend._value2member_map_]
    if unknown:
        raise pytest.UsageError(f"LOSSES_BACKENDS names unknown backends: {unknown}")
    return [Backend(n) for n in names]


def require(backend: Backend | str) -> None:
    """Skip the calling test unless ``backend`` is selected and usable here."""
    backend = Backend(backend)
    if backend not in selected():
        pytest.skip(f"{backend.value} not selected by LOSSES_BACKENDS")
    pytest.importorskip(backend.module)
    if backend is Backend.CUPY and not _check._gpu_present():
        pytest.skip("cupy needs a CUDA GPU")


def installed(*backends: Backend | str) -> list[str]:
    """The ``backends`` that ``require`` would not skip, for a test that runs what it can
    (and skips itself when that is nothing)."""
    out = []
    for b in backends:
        try:
            require(b)
        except pytest.skip.Exception:
            continue
        out.append(Backend(b).value)
    if not out:
        pytest.skip(f"none of {', '.join(Backend(b).value for b in backends)} is usable here")
    return out


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "skip_backend(name, reason): skip one backend for this test")
    config.addinivalue_line("markers", "xfail_backend(name, reason): xfail one backend for this test")


@pytest.fixture(params=list(Backend), ids=lambda b: b.value)
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend in turn, as its name; skipped where not installed or not selected."""
    b = request.param
    for m in request.node.iter_markers("skip_backend"):
        if m.args[0] == b.value:
            pytest.skip(m.kwargs.get("reason", "skipped for this backend"))
    for m in request.node.iter_markers("xfail_backend"):
        if m.args[0] == b.value:
            request.applymarker(pytest.mark.xfail(reason=m.kwargs.get("reason", ""), strict=True))
    require(b)
    return b.value


@pytest.fixture
def xp(backend: str):
    """The array namespace of ``backend`` (what ``backends.get`` gives its arrays)."""
    import backends

    return backends.get(_check.convert(np.zeros(1), backend)).xp


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def to(backend: str):
    """``to(np_array, dtype="float64", requires_grad=False)`` -> the array on ``backend``."""

    def convert(value, dtype: str = "float64", requires_grad: bool = False):
        return _check.convert(value, backend, dtype, requires_grad)

    return convert
