"""nox sessions: one per backend, plus compile, vision, lint and bench.

Every install goes through constraints.txt, which keeps torch at the local 2.13.0 CPU build.
"""

from __future__ import annotations

import shutil

import nox

nox.options.sessions = ["numpy", "strict", "torch", "jax", "lint"]
nox.options.default_venv_backend = "venv"
C = ("-c", "constraints.txt")


def _install(session: nox.Session, extras: str) -> None:
    session.install(*C, "-e", f".[{extras}]")


def _matrix(session: nox.Session, backends: str, extras: str) -> None:
    _install(session, extras)
    session.run("python", "-m", "losses", "check", *[f"--backend={b}" for b in backends.split(",")])
    session.run("python", "-m", "pytest", *session.posargs, env={"LOSSES_BACKENDS": backends})


@nox.session
def numpy(session: nox.Session) -> None:
    """NumPy alone: no framework installed, the peers that need none (scikit-learn)."""
    _matrix(session, "numpy", "test")


@nox.session
def strict(session: nox.Session) -> None:
    """array-api-strict with boolean indexing and data-dependent shapes off."""
    _matrix(session, "strict", "test")


@nox.session
def torch(session: nox.Session) -> None:
    _matrix(session, "numpy,torch", "torch,test,peers")


@nox.session
def jax(session: nox.Session) -> None:
    _matrix(session, "numpy,jax", "jax,test,peers")


@nox.session
def cupy(session: nox.Session) -> None:
    """CuPy on a CUDA GPU; skips cleanly where there is none."""
    if shutil.which("nvidia-smi") is None:
        session.skip("no CUDA GPU on this machine (nvidia-smi not found)")
    _matrix(session, "numpy,cupy", "cupy,test")


@nox.session
def compile(session: nox.Session) -> None:
    """torch.compile with inductor (generates kernels: the slow part of the matrix)."""
    _install(session, "torch,test")
    session.run("python", "-m", "pytest", "-m", "slow", *session.posargs, env={"LOSSES_BACKENDS": "numpy,torch"})


@nox.session
def vision(session: nox.Session) -> None:
    """torchvision comparisons (box and focal losses) on the CPU.

    torchvision has no build for torch 2.13.0, so this session runs in its own environment
    with torch 2.14.1 + torchvision 0.29.1 (a CUDA build of about 5.5 GB that runs on the
    CPU); it is not part of .ci/run.
    """
    session.install("torch==2.14.1", "torchvision==0.29.1")
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "-m", "vision", "tests", *session.posargs,
                env={"LOSSES_BACKENDS": "numpy,torch"})


@nox.session
def lint(session: nox.Session) -> None:
    session.install(*C, "-e", ".[dev]")
    session.run("ruff", "check", "losses", "backends", "tests", "benchmarks", "noxfile.py")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Speed against native peers; writes benchmarks/results-<device>.{md,json}."""
    _install(session, "torch,jax,test,peers")
    session.run("python", "-m", "benchmarks", *session.posargs)
