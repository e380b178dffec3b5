"""Reproducible throughput benchmarks: prs against PLINK 2 and the bgzip decompression floor.

Run ``python -m benchmarks.run`` (or ``--small``); see ``docs/performance.md``.
"""
