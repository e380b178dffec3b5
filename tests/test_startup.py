"""Start-up (issue 15 item 3): what a ``prs`` process imports, and Numba's cache.

Properties, not timings (the timings are benchmarks/startup_case.py's): ``import prs`` and the
``prs`` parser import no plotting, Dask, Zarr, scikit-learn, statsmodels, SciPy stats or Numba;
kernels start Numba at their first call and load machine code from its cache in the next
process.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

#: Imported only by the runs that use them (each costs 0.1-0.6 s of start-up).
HEAVY = (
    "matplotlib",
    "dask",
    "distributed",
    "zarr",
    "sklearn",
    "statsmodels",
    "scipy.stats",
    "scipy.linalg",
    "numba",
    "bgen",
)


def _modules_after(code: str) -> set[str]:
    """The heavy modules in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    loaded = set(json.loads(out.splitlines()[-1]))
    return {name for name in HEAVY if name in loaded}


def test_import_prs_imports_no_heavy_library():
    assert _modules_after("import prs") == set()


def test_the_command_line_parser_imports_no_heavy_library():
    """``prs --help`` builds every command's parser (calibration's included)."""
    code = "import prs.cli, prs.calibrate\nprs.cli.build_parser()"
    assert _modules_after(code) == set()


def test_the_probe_sees_a_heavy_import():
    """The property above could fail: importing the calibration models' SciPy is seen."""
    assert "scipy.stats" in _modules_after("import prs.calibrate.evaluate as e\ne.stats.norm")


def test_constants_written_as_literals_equal_scipy():
    """Constants once computed with SciPy at import time are literals now; SciPy agrees."""
    from scipy import stats

    from prs.calibrate.reference import RANK_Z_LIMIT
    from prs.calibrate.uncertainty import LEVEL, Z_LEVEL

    assert float(-stats.norm.ppf(np.nextafter(0.0, 1.0))) == RANK_Z_LIMIT
    assert float(stats.norm.ppf(0.5 + LEVEL / 2.0)) == Z_LEVEL


def test_lazy_module_imports_at_first_use():
    from prs._compat import LazyModule

    module = LazyModule("json")
    assert module.dumps([1]) == "[1]" and module.loads is json.loads


def test_kernel_is_compiled_and_pickles_by_name():
    from numba.core.registry import CPUDispatcher

    from prs.kernels import calls, jit

    calls_in = np.array([[0, 1, 2, -9]], dtype=np.int8)
    out = np.empty((1, 4))
    calls.call_dosages(calls_in, out)  # a kernel calling a kernel (call_row_dosage)
    np.testing.assert_array_equal(out, [[0.0, 1.0, 2.0, np.nan]])
    assert jit.numba_started()
    # Once started, a kernel module's own names are Numba's dispatchers (what the compiled
    # callers resolve), and a Kernel pickles to the same kernel.
    assert isinstance(calls.call_row_dosage, CPUDispatcher)
    proxy = next(k for k in jit._state.kernels if k.__name__ == "call_dosages")
    assert pickle.loads(pickle.dumps(proxy)) is calls.call_dosages


@pytest.mark.slow
def test_second_process_loads_kernels_from_numba_cache():
    """``cache=True`` works where the package is (its cache directory writable): a fresh
    process's first call of a kernel loads it from the cache, compiling nothing."""
    code = (
        "import numpy as np\n"
        "from prs.kernels import calls\n"
        "calls.call_dosages(np.zeros((2, 3), np.int8), np.empty((2, 3)))\n"
        "from prs.kernels.calls import call_dosages as d\n"
        "print(d.stats.cache_hits.get(d.signatures[0], 0), d.stats.cache_misses)\n"
    )
    for _ in range(2):  # the first may write the cache
        out = subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout
    hits, misses = out.split(maxsplit=1)
    assert int(hits) == 1, out
    assert misses.strip() in ("{}", "Counter()"), out
