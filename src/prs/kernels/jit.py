"""The one place Numba's compile options are set for every kernel, and when Numba starts.

``cache=True`` keeps compiled machine code on disk between processes (start-up would
otherwise grow by the compile time of every kernel used); ``nogil=True`` lets the scorer's
threads and the reader's decompression run kernels in parallel.

Numba is not imported by ``import prs``: :data:`kernel` wraps each function in a
:class:`Kernel`, and the first kernel call imports Numba and makes a dispatcher for every
kernel at once (:func:`compile_kernels`). Importing Numba (~0.13 s) and setting up its CPU
target at the first call (~0.25 s, cached machine code or not) are then paid only by runs
that use a kernel: ``prs --help``, ``prs calibrate``, ``prs fetch``, ``import prs`` in a
notebook do not (docs/performance.md, "Start-up").

Small scoring jobs use none either, so they never pay that start: until Numba has started
(:func:`numba_started`), ``engine="auto"`` reads a small bgzipped VCF with the checked
engine (:data:`prs.genotypes.SMALL_VCF_BYTES`), the BGZF header walk runs as Python
(:func:`prs.kernels.bgzf_headers.scan_block_headers`) and the score totals are added in
numpy (:func:`prs.kernels.accumulate.accumulate_numpy`, bit for bit the kernels' totals)
for the process's first :data:`prs.scoring.totals.NUMPY_GENOTYPES` genotypes.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any


class Kernel:
    """A kernel before Numba has started: calling it starts Numba
    (:func:`compile_kernels`) and calls ``py_func`` compiled by
    ``numba.njit(cache=True, nogil=True)``, :attr:`dispatcher`."""

    def __init__(self, py_func: Callable[..., Any]) -> None:
        functools.update_wrapper(self, py_func)
        self.py_func = py_func
        self.dispatcher: Callable[..., Any] | None = None

    def __call__(self, *args: Any) -> Any:
        dispatcher = self.dispatcher
        if dispatcher is not None:
            return dispatcher(*args)
        compile_kernels()
        assert self.dispatcher is not None
        return self.dispatcher(*args)

    def __repr__(self) -> str:
        return f"<prs kernel {self.py_func.__module__}.{self.py_func.__qualname__}>"

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled by name (Dask ships tasks to workers), like a plain function.
        return _lookup, (self.py_func.__module__, self.py_func.__qualname__)


def _lookup(module: str, qualname: str) -> Any:
    return getattr(importlib.import_module(module), qualname)


class _State:
    """Process-wide: the kernels made so far, and Numba's decorator once started."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.kernels: list[Kernel] = []
        self.compiled = False
        self.njit: Callable[[Callable[..., Any]], Any] | None = None
        self.lean = False  # see lean_start


_state = _State()


def compile_kernels() -> None:
    """Import Numba and give every kernel its dispatcher (compiled, or loaded from the
    cache, at its first call as usual); kernels defined later are compiled from the start.

    Each kernel's module globals are rebound to the dispatchers, so compiled kernels that
    call one another see Numba functions. Idempotent and thread-safe.
    """
    with _state.lock:
        if _state.compiled:
            return
        with _without_optional_imports():
            import numba
            import numba.np.arraymath  # (the first call would import them: now)

            if _state.lean:
                import numba.core.typing.cffi_utils

        _state.njit = numba.njit(cache=True, nogil=True)
        for k in _state.kernels:
            k.dispatcher = _state.njit(k.py_func)
        for k in _state.kernels:
            _rebind(k.py_func.__globals__)
        _state.compiled = True


def _rebind(namespace: dict[str, Any]) -> None:
    """Kernels named in ``namespace`` (a module's globals, where Numba resolves a kernel's
    callees at compile time) replaced by their dispatchers."""
    for name, value in list(namespace.items()):
        if isinstance(value, Kernel) and value.dispatcher is not None:
            namespace[name] = value.dispatcher


def lean_start() -> None:
    """Have Numba start without the optional imports no prs kernel needs (see
    :func:`_without_optional_imports`). For a process that is prs alone, the ``prs``
    command (:func:`prs.cli.console`): the modules are blocked process-wide while Numba
    starts, and Numba's CFFI support stays off for the process, which a notebook or a
    program using Numba for its own functions might need."""
    _state.lean = True


@contextlib.contextmanager
def _without_optional_imports() -> Iterator[None]:
    """Numba's start without the optional imports no prs kernel needs: each is answered
    "absent" while Numba starts, unless it is loaded already; later imports work as usual.

    * Always: Numba probes for BLAS once, on import, by importing ``scipy.linalg`` (~0.08 s;
      a scoring run uses no SciPy). The probe only picks BLAS over a plain loop inside
      ``np.correlate``/``np.convolve``, which no prs kernel calls; ``np.dot`` still finds
      BLAS when a kernel uses it (Numba imports it then).
    * After :func:`lean_start` (the ``prs`` command), ~0.05 s more: ``cffi`` (with
      ``pycparser``, imported at the first kernel call; Numba decides then, for the
      process, that it cannot call CFFI functions, which no kernel does), ``colorama``
      (colours of Numba's error messages) and ``yaml`` (read only for a
      ``.numba_config.yaml`` in the working directory: left importable when there is one).
    """
    names = ["scipy.linalg.cython_blas"]
    if _state.lean:
        names += ["cffi", "colorama"]
        if not os.path.isfile(".numba_config.yaml"):
            names.append("yaml")
    blocked = [name for name in names if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, "") is None:
                del sys.modules[name]


def numba_started() -> bool:
    """True once Numba has been imported and the kernels made into dispatchers."""
    return _state.compiled


def kernel(py_func: Callable[..., Any]) -> Any:
    """Decorator for every kernel: ``@kernel`` above a function over numpy arrays."""
    k = Kernel(py_func)
    with _state.lock:
        _state.kernels.append(k)
        if _state.compiled:
            assert _state.njit is not None
            k.dispatcher = _state.njit(py_func)
            _rebind(py_func.__globals__)
            return k.dispatcher
    return k
