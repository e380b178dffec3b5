# Two commands matter (see README): `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
PEERS  ?= .venv-peers
MIN    ?= .venv-min
SITE   ?= site

.PHONY: setup tools demo test test-min docs lint lock bench bench-small fuzz clean

setup: $(STAMP)

# Versions pinned by requirements-ci.lock (constraints: `make lock` refreshes it), so CI
# installs what the last working .venv had. The distribution was called "prs" before
# "prs-risk": an old editable install of it is removed first.
$(STAMP): pyproject.toml requirements-ci.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip uninstall -q -y prs 2>/dev/null || true
	$(BIN)/python -m pip install -q -c requirements-ci.lock -e '.[dev]'
	# Test oracles whose packaging pins old numpy/pandas (they run under ours):
	# FRAPOSA (fraposa-pgsc, pgsc_calc's projection) without its pins, into this venv ...
	$(BIN)/python -m pip install -q --no-deps 'fraposa-pgsc==1.0.2' 'pyplink==1.3.9'
	# ... and pgscatalog-calc 0.3.1 (numpy<2) in a venv of its own, run as a program.
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install -q 'pgscatalog-calc==0.3.1'
	touch $(STAMP)

# PLINK 2 and tabix from Debian, for the cross-check tests (needs root or sudo; skipped otherwise).
tools:
	bash scripts/install-tools.sh

demo: setup
	$(BIN)/prs demo --out demo-output

# The kernel tests run a second time as plain Python (NUMBA_DISABLE_JIT=1): the same
# assertions then hold for the interpreted code, and coverage tools can see inside the kernels.
test: setup tools
	$(BIN)/ruff check src tests benchmarks
	PGSCATALOG_ANCESTRY_ADJUST=$(CURDIR)/$(PEERS)/bin/pgscatalog-ancestry-adjust $(BIN)/python -m pytest -q --durations=20
	NUMBA_DISABLE_JIT=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_kernels.py tests/test_vcf_text.py \
		tests/test_bgen_kernel.py tests/test_pgen_calls.py
	$(MAKE) docs

# The documentation site (docs/ and the docstrings; mkdocs.yml): --strict makes every
# warning (a broken link, a docstring section mkdocstrings cannot parse) an error.
docs: setup
	$(BIN)/mkdocs build --strict -q -d $(SITE)

# The lowest versions pyproject.toml allows (uv --resolution lowest-direct) in a venv of
# their own, running a fast subset: a minimum that no longer works fails here.
MIN_TESTS = tests/test_startup.py tests/test_kernels.py tests/test_bgzf.py tests/test_vcf.py \
	tests/test_score.py tests/test_match.py tests/test_calibrate_categories.py
test-min: tools
	$(PYTHON) -m venv $(MIN)
	$(MIN)/bin/python -m pip install -q uv
	$(MIN)/bin/uv pip install -q -p $(MIN)/bin/python --resolution lowest-direct -e .
	$(MIN)/bin/uv pip install -q -p $(MIN)/bin/python pytest hypothesis pysam zstandard
	$(MIN)/bin/python -m pytest -q -p no:cacheprovider $(MIN_TESTS)

# requirements-ci.lock from the working .venv (after a dependency changed in pyproject.toml).
lock: setup
	( sed -n 1,2p requirements-ci.lock; $(BIN)/python -m pip freeze --exclude-editable \
		| grep -v -i -E '^(prs|prs-risk)==' ) > requirements-ci.lock.new
	mv requirements-ci.lock.new requirements-ci.lock

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# Byte-compile first: the editable install leaves src/ uncompiled (and PYTHONDONTWRITEBYTECODE
# may be set), which would add ~0.1 s of compiling to every timed prs run.
# The README table (VCF, PLINK cases against PLINK 2 and the bgzip floor), then the format,
# Dask, memory-per-row and ancestry cases (issues 13, 14), each against its reference in the
# same run; figures printed and kept in benchmarks/results/.
bench: setup tools
	$(BIN)/python -m compileall -q src
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.bgen_case
	$(BIN)/python -m benchmarks.zarr_case
	$(BIN)/python -m benchmarks.dask_case
	$(BIN)/python -m benchmarks.memory_rows
	$(BIN)/python -m benchmarks.ancestry_case
	$(BIN)/python -m benchmarks.imputed_case
	$(BIN)/python -m benchmarks.startup_case

bench-small: setup tools
	$(BIN)/python -m compileall -q src
	$(BIN)/python -m benchmarks.run --small

# The long fuzz run (the suite runs a small fixed set in `make test`): 2,000 random examples per
# fuzz test and mutation family, no deadline. Failures print a reproducer; keep each one as a
# regression case (tests/regressions/).
fuzz: setup tools
	PRS_FUZZ_EXAMPLES=2000 $(BIN)/python -m pytest -q -p no:cacheprovider \
		tests/test_fuzz_vcf.py tests/test_fuzz_scorefile.py

clean:
	rm -rf $(VENV) $(PEERS) $(MIN) $(SITE) demo-output .pytest_cache .hypothesis
