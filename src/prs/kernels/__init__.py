"""Numba kernels: pure functions over contiguous numpy arrays (no I/O, no pandas).

Each module holds ``@numba.njit(cache=True, nogil=True)`` functions named for what they
compute; public code prepares arrays, calls one kernel and wraps the result.
"""
