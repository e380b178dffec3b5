"""Numba kernels: pure functions over contiguous numpy arrays (no I/O, no pandas).

One kernel step per module, in data-flow order: :mod:`~prs.kernels.bgzf_headers` (BGZF block
headers), :mod:`~prs.kernels.scan` (find and check VCF records), :mod:`~prs.kernels.fields`
(sample columns to allele indexes or numbers), :mod:`~prs.kernels.dosage` (dosages under the
checked path's rules), :mod:`~prs.kernels.bgen` (BGEN records: inflate and decode runs of
them), :mod:`~prs.kernels.calls` (PLINK hard calls) and :mod:`~prs.kernels.accumulate`
(dosage x weight into score totals).
Every kernel is decorated with :data:`prs.kernels.jit.kernel` (the one place Numba's options
are set); kernels never raise, they return status codes named in their module.
"""
