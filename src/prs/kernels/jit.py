"""The one place Numba's compile options are set for every kernel.

``cache=True`` keeps compiled machine code on disk between processes (the ~1.4 s start-up
would otherwise grow by the compile time of every kernel used); ``nogil=True`` lets the
scorer's threads and the reader's decompression run kernels in parallel.
"""

from __future__ import annotations

import numba

#: Decorator for every kernel: ``@kernel`` above a function over numpy arrays.
kernel = numba.njit(cache=True, nogil=True)
