"""Backend adapters: ``backends.get(*arrays)`` returns the Backend for those arrays.

The backend is chosen from the arrays' types (cached per type) by the top-level module
that defines the type, so a framework the caller did not import is never imported.
Python scalars and ``None`` are skipped; with no array at all, NumPy is used.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from ._generic import Backend, is_array

__all__ = ["Backend", "get", "name_of", "is_array", "BACKENDS"]

#: backend name -> "module:class" of its adapter
BACKENDS = {
    "numpy": "backends.numpy:NumpyBackend",
    "strict": "backends.strict:StrictBackend",
    "torch": "backends.torch:TorchBackend",
    "jax": "backends.jax:JaxBackend",
    "cupy": "backends.cupy:CupyBackend",
}

# top-level module of an array type -> backend name
_MODULE_TO_BACKEND = {
    "numpy": "numpy",
    "array_api_strict": "strict",
    "torch": "torch",
    "jax": "jax",
    "jaxlib": "jax",
    "cupy": "cupy",
}

_SKIP = (int, float, complex, bool, type(None), str)
#: ``id`` of an array type -> backend name. Keyed by ``id``, an int: torch.compile then guards
#: the one entry a call reads, in C++; a dict keyed by the type object itself costs a
#: Python-level guard over the dict's keys on every compiled call
_by_type: dict[int, str] = {}
#: the types in ``_by_type``, kept alive so that no id is ever reused
_types: list[type] = []
_instances: dict[str, Backend] = {}


def _register(t: type, name: str) -> None:
    if id(t) not in _by_type:
        _types.append(t)
        _by_type[id(t)] = name


def name_of(x: Any) -> str | None:
    """The backend name for one array (``None`` for Python scalars and ``None``)."""
    t = type(x)
    name = _by_type.get(id(t))
    if name is None:
        if t in _SKIP:  # exact types: np.float64 subclasses float but is a NumPy array scalar
            return None
        root = t.__module__.partition(".")[0]
        name = _MODULE_TO_BACKEND.get(root)
        if name is None:
            raise TypeError(f"unsupported array type {t.__module__}.{t.__qualname__}")
        _register(t, name)
    return name


def _instance(name: str) -> Backend:
    b = _instances.get(name)
    if b is None:
        if name == "torch" and sys.modules["torch"].compiler.is_compiling():
            raise RuntimeError(
                "losses: the torch adapter cannot be built inside torch.compile; import torch "
                "before losses (or call any loss once eagerly) and compile again"
            )
        module, cls = BACKENDS[name].split(":")
        b = _instances[name] = getattr(importlib.import_module(module), cls)()
        for t in b.array_types:
            _register(t, name)
    return b


def _prebuild() -> None:
    """Build the adapters of frameworks that are already imported (never imports one).

    Dynamo cannot trace an adapter's construction, so the torch adapter must exist before a
    loss is first called inside torch.compile: with ``import torch`` before ``import losses``
    it does; otherwise any eager call builds it.
    """
    for name, module in (("torch", "torch"), ("jax", "jax"), ("cupy", "cupy")):
        if module in sys.modules:
            try:
                _instance(name)
            except Exception:  # a broken or partial framework install: resolve lazily, as before
                _instances.pop(name, None)


def get(*arrays: Any) -> Backend:
    """The Backend of ``arrays``; TypeError if they come from two frameworks."""
    found = None
    for a in arrays:
        n = _by_type.get(id(type(a))) or name_of(a)  # the cached type first: every loss call comes here
        if n is None:
            continue
        if found is None:
            found = n
        elif n != found:
            raise TypeError(f"arrays from two frameworks in one call: {found} and {n}")
    name = found or "numpy"
    return _instances.get(name) or _instance(name)



class _BuildTorchAdapterAfterImport:
    """A meta-path finder that builds the torch adapter right after ``import torch``.

    Installed only when ``losses`` is imported before torch, so that a loss whose first call
    is inside ``torch.compile`` finds its adapter built. It wraps torch's own loader, never
    imports torch itself, and removes itself after the first import.
    """

    def find_spec(self, fullname, path, target=None):
        if fullname != "torch":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        exec_module = getattr(loader, "exec_module", None)
        if exec_module is None:
            return spec

        def exec_then_build(module):
            exec_module(module)
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            _prebuild()

        loader.exec_module = exec_then_build
        return spec


_prebuild()
if "torch" not in sys.modules:
    sys.meta_path.insert(0, _BuildTorchAdapterAfterImport())
