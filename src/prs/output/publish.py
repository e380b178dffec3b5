"""Publishing outputs: each file atomically, a run's files as one set, under a lock.

The mechanics below every writer of :mod:`prs.output.tables` (no formats here: bytes and files).

One file (:func:`atomic_write`)
    Written to a hidden temporary ``.<name>.prs-<random>.part`` beside the destination,
    flushed to disk, then renamed onto it: a reader sees the old file or the new one, never
    a part. The writer holds an ``flock`` on its temporary file for as long as it lives, so
    a later writer of the same name removes temporaries whose lock it can take (their
    writer is dead) and leaves the others alone.

A set of files (:class:`OutputSet`, through :func:`prs.output.output_set`)
    1. Lock ``<out>/.prs.lock`` (``fcntl.flock``). A second run into the same directory
       waits for the first to finish publishing (it says so once, naming the holder's
       pid), and gives up with a :class:`~prs.errors.ReportError` after ``lock_timeout``
       seconds. The kernel drops the lock of a dead process, so a killed run never blocks
       another; the lock file is removed when the lock is released.
    2. Under the lock, finish or clean what dead runs left (see *Recovery*).
    3. Write every file into a private staging directory ``<out>/.prs-stage-<pid>-<random>``.
    4. Commit: rename the staging directory to ``.prs-commit-…`` (one atomic rename).
    5. Remove the previous marker file (``provenance.json``: it describes the previous
       files, so it goes even when the new set has none), rename each file into ``<out>``,
       the marker last, remove the empty commit directory.
    An exception (or SIGINT/SIGTERM, which the CLI turns into exceptions) before step 4
    discards the staging directory: ``<out>`` keeps its previous files untouched. Steps 4–5
    take milliseconds and run with SIGINT/SIGTERM deferred, so those signals are acted on
    only once the set is published. Only ``kill -9`` (or a crash) can stop them half-way;
    then ``<out>`` has no marker file — a reader can tell the set is incomplete — and the
    next run into ``<out>`` completes the move (the run had committed).

Recovery (under the lock, on entering an :class:`OutputSet`)
    ``.prs-stage-*`` directories are dead (staging only exists while its run holds the
    lock): removed. ``.prs-commit-*`` directories are committed sets whose run died while
    publishing: moved into place as in step 5. ``.<name>.prs-<hex>.part`` temporaries of
    single-file writers are removed when their flock is free (writer dead); so are those
    of the files being published, whatever their form (older versions' ``mkstemp`` names).

Modes
    Files are created with mode ``0o666`` and directories ``0o777``, less the umask, as any
    Unix tool does (``umask 002`` on a shared directory: the group can read and replace).

Every ``OSError`` while writing (ENOSPC, EDQUOT, EACCES, EROFS, EIO, ...) becomes a
:class:`~prs.errors.ReportError` naming the destination path and the error.

Test hook: when the environment variable ``PRS_TEST_STOP_AT`` names a step (``locked``,
``staged:<name>``, ``committed``, ``withdrawn:<marker>``, ``published:<name>``), the process
prints ``prs: test hook: stopped at <step>`` and stops itself with SIGSTOP there, so a test
can kill or resume it at exactly that point (``tests/test_faults.py``).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import logging
import os
import re
import secrets
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from prs.errors import ReportError

log = logging.getLogger(__name__)

#: Lock file of an output directory (exists only while a run holds it, or after a kill -9).
LOCK_NAME = ".prs.lock"
#: Prefix of a run's private staging directory inside the output directory.
STAGE_PREFIX = ".prs-stage-"
#: Prefix of a committed staging directory whose files are being moved into place.
COMMIT_PREFIX = ".prs-commit-"
#: Environment variable of the test hook (see the module docstring).
TEST_HOOK_ENV = "PRS_TEST_STOP_AT"
#: Seconds a run waits for another run's lock on the same output directory by default.
DEFAULT_LOCK_TIMEOUT = 600.0

_FILE_MODE = 0o666  # less the umask, by the kernel
_DIR_MODE = 0o777


def _hook(step: str) -> None:
    """The test hook: stop this process at ``step`` when PRS_TEST_STOP_AT names it."""
    if os.environ.get(TEST_HOOK_ENV) == step:
        print(f"prs: test hook: stopped at {step}", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)


def write_error(path: str | os.PathLike[str], exc: OSError) -> ReportError:
    """The :class:`ReportError` for an ``OSError`` while writing ``path``."""
    name = errno.errorcode.get(exc.errno or 0)
    reason = exc.strerror or str(exc)
    return ReportError(f"{path}: cannot write output: {reason}" + (f" ({name})" if name else ""))


class _OutputFile(io.FileIO):
    """A raw file that remembers the first error of a write, so an ``OSError`` from the
    caller's own code (reading an input, say) is not mistaken for a failed write."""

    write_failure: OSError | None = None

    def write(self, data: Any) -> int | None:  # type: ignore[override]
        try:
            return super().write(data)
        except OSError as exc:
            self.write_failure = self.write_failure or exc
            raise


def _create_exclusive(directory: Path, prefix: str, suffix: str) -> tuple[int, Path]:
    """Create a new file ``directory/<prefix><random><suffix>`` (mode 0o666 less umask)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
    while True:
        path = directory / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            return os.open(path, flags, _FILE_MODE), path
        except FileExistsError:
            continue


@contextlib.contextmanager
def _open_fd(fd: int, mode: str, dest: Path) -> Iterator[IO[Any]]:
    """A file object over ``fd`` (``"w"``: UTF-8 text, ``"wb"``); flushed, synced and
    closed on success, closed on failure. A failed write (in the body, or when flushing,
    syncing or closing) becomes a :class:`ReportError` naming ``dest``; any other
    exception of the body passes unchanged."""
    if mode not in ("w", "wb"):
        os.close(fd)
        raise ValueError(f"mode must be 'w' or 'wb', not {mode!r}")
    raw = _OutputFile(fd, "wb", closefd=True)
    buffered = io.BufferedWriter(raw)
    fh: IO[Any] = (
        buffered if mode == "wb" else io.TextIOWrapper(buffered, encoding="utf-8", newline="")
    )
    try:
        yield fh
    except OSError as exc:
        _close_quietly(fh, raw)
        if raw.write_failure is None:
            raise  # not a write of ours: the caller's own I/O failed
        raise write_error(dest, raw.write_failure) from exc
    except BaseException:
        _close_quietly(fh, raw)
        raise
    try:
        fh.flush()
        os.fsync(raw.fileno())
        fh.close()
    except OSError as exc:
        _close_quietly(fh, raw)
        raise write_error(dest, raw.write_failure or exc) from exc


def _close_quietly(fh: IO[Any], raw: io.FileIO) -> None:
    """Close after a failure: buffered bytes that cannot be written are dropped."""
    with contextlib.suppress(OSError, ValueError):
        fh.close()
    with contextlib.suppress(OSError, ValueError):
        raw.close()


def _fsync_dir(directory: Path) -> None:
    """Make renames in ``directory`` durable (best effort: some filesystems refuse)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _make_dir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=_DIR_MODE)
    except OSError as exc:
        raise write_error(directory, exc) from exc
    if not directory.is_dir():
        raise ReportError(f"{directory}: cannot write output: not a directory")


_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.(?P<token>[A-Za-z0-9_-]+)\.part$")
#: The temporaries :func:`atomic_write` names (older versions: mkstemp's 8 characters).
_OUR_TOKEN = re.compile(r"^prs-[0-9a-f]{12}$")


def remove_dead_temporaries(directory: Path, name: str | None) -> list[Path]:
    """Remove ``directory/.<name>.*.part`` temporaries whose writer is dead.

    A live writer holds an ``flock`` on its temporary; one whose lock can be taken has no
    live writer (or came from a version of prs that did not lock: dead too by now).
    ``name=None``: every temporary named as :func:`atomic_write` names them (whatever
    its destination), but no other ``.part`` file. Returns the removed paths.
    """
    removed: list[Path] = []
    try:
        entries = os.listdir(directory)
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_RE.match(entry)
        if match is None or (
            match["name"] != name if name is not None else not _OUR_TOKEN.match(match["token"])
        ):
            continue
        path = directory / entry
        flags = os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
        try:  # (read-write: NFS grants an exclusive lock only on a file open for writing)
            fd = os.open(path, os.O_RDWR | flags)
        except PermissionError:
            try:
                fd = os.open(path, os.O_RDONLY | flags)
            except OSError:
                continue
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # its writer is alive
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it onto ``path`` only on success.

    Parameters
    ----------
    path
        Destination. Its directory is created if missing. The file gets mode ``0o666``
        less the umask.
    mode
        ``"w"`` (text, UTF-8) or ``"wb"``.

    Raises
    ------
    ReportError
        When the destination cannot be written (any ``OSError`` while creating, writing,
        syncing or renaming; the message names ``path``). The temporary is removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_write(d / "x.txt") as fh:
    ...     _ = fh.write("done")
    >>> (d / "x.txt").read_text()
    'done'
    """
    dest = Path(path)
    _make_dir(dest.parent)
    remove_dead_temporaries(dest.parent, dest.name)
    try:
        fd, tmp = _create_exclusive(dest.parent, f".{dest.name}.prs-", ".part")
    except OSError as exc:
        raise write_error(dest, exc) from exc
    try:
        with contextlib.suppress(OSError):  # (no locks here: then no one can judge it dead)
            fcntl.flock(fd, fcntl.LOCK_EX)  # while held, no one takes this temporary for dead
        with _open_fd(fd, mode, dest) as fh:
            yield fh
        try:
            os.replace(tmp, dest)
        except OSError as exc:
            raise write_error(dest, exc) from exc
        _fsync_dir(dest.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


#: flock errors of filesystems without locks (some NFS and FUSE mounts): run unlocked.
_NO_LOCKS = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL)


class _DirectoryLock:
    """An exclusive ``flock`` on ``<directory>/.prs.lock``, removed on release."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / LOCK_NAME
        self.fd: int | None = None

    def _open(self) -> int:
        flags = os.O_CREAT | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
        try:
            return os.open(self.path, os.O_RDWR | flags, _FILE_MODE)
        except PermissionError:
            # Another user's lock file (umask 022): reading is enough for flock locally.
            try:
                return os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                raise PermissionError(
                    errno.EACCES, os.strerror(errno.EACCES), str(self.path)
                ) from None

    def _holder(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            return f"pid {int(self.path.read_text().split()[0])}"
        return "pid unknown"

    def acquire(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        announced = False
        while True:
            try:
                fd = self._open()
            except OSError as exc:
                raise write_error(self.path.parent, exc) from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if not announced:
                    log.warning(
                        "%s: another prs run (%s) is writing its outputs here; "
                        "waiting for it to finish",
                        self.path.parent,
                        self._holder(),
                    )
                    announced = True
                if deadline is not None and time.monotonic() > deadline:
                    raise ReportError(
                        f"{self.path.parent}: another prs run ({self._holder()}) kept this "
                        f"output directory locked for {timeout:g} s; wait for it to finish "
                        "or choose another output directory"
                    ) from None
                time.sleep(0.05)
                continue
            except OSError as exc:
                os.close(fd)
                if exc.errno in _NO_LOCKS:
                    log.warning(
                        "%s: this filesystem does not support file locks (%s); runs writing "
                        "into this directory at the same time are not kept apart",
                        self.path.parent,
                        exc.strerror,
                    )
                    return
                raise write_error(self.path, exc) from exc
            # The holder before us unlinks the file before unlocking: a lock taken on an
            # unlinked (or replaced) file protects nothing, so take the current one.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            with contextlib.suppress(OSError):  # for the waiting message only
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            self.fd = fd
            return

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self.fd)
        self.fd = None


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM received inside are acted on at the end (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def record(signum: int, frame: Any) -> None:
        pending.append(signum)

    saved: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        saved[sig] = signal.signal(sig, record)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        for sig in dict.fromkeys(pending):
            signal.raise_signal(sig)


def _publish(commit: Path, out_dir: Path, marker: str | None) -> list[str]:
    """Move every file of ``commit`` into ``out_dir``: the marker removed first and put
    back last. Returns the names moved, in order."""
    names = sorted(os.listdir(commit))
    if marker is not None and names:
        # The previous marker describes the previous files: it goes before any is replaced
        # (and stays away if this set has none: the directory then holds no complete set).
        if marker in names:
            names.remove(marker)
            names.append(marker)
        try:
            (out_dir / marker).unlink()
            _hook(f"withdrawn:{marker}")
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise write_error(out_dir / marker, exc) from exc
    for name in names:
        remove_dead_temporaries(out_dir, name)
        dest = out_dir / name
        try:
            os.replace(commit / name, dest)
        except OSError as exc:
            raise write_error(dest, exc) from exc
        _hook(f"published:{name}")
    with contextlib.suppress(OSError):
        commit.rmdir()
    _fsync_dir(out_dir)
    return names


def recover(out_dir: Path) -> None:
    """Finish or clean what dead runs left in ``out_dir`` (call with its lock held):
    committed sets are moved into place, staging directories and the temporaries of dead
    single-file writers removed."""
    try:
        entries = sorted(os.listdir(out_dir))
    except OSError as exc:
        raise write_error(out_dir, exc) from exc
    for entry in entries:
        path = out_dir / entry
        if entry.startswith(COMMIT_PREFIX) and path.is_dir():
            log.info("%s: completing the outputs of a run that was killed while publishing", path)
            _publish(path, out_dir, _marker_of(path))
        elif entry.startswith(STAGE_PREFIX) and path.is_dir():
            log.info("%s: removing the staging directory of a dead run", path)
            shutil.rmtree(path, ignore_errors=True)
    remove_dead_temporaries(out_dir, None)


def _marker_of(commit: Path) -> str | None:
    """The marker of a committed set (its name is kept in the directory's name)."""
    marker = commit.name[len(COMMIT_PREFIX) :].split("~", 1)
    return marker[1] if len(marker) == 2 and marker[1] else None


class OutputSet:
    """Files written together into one directory: published all at once, or not at all.

    Use through :func:`prs.output.output_set` (which adds table and JSON writers). Files
    are written into a staging directory and moved into ``out_dir`` when the ``with``
    block ends without an exception; see the module docstring for the protocol.
    """

    def __init__(
        self,
        out_dir: str | os.PathLike[str],
        *,
        marker: str | None = "provenance.json",
        lock_timeout: float | None = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.marker = marker
        self.lock_timeout = lock_timeout
        self._lock = _DirectoryLock(self.out_dir)
        self._stage: Path | None = None
        self.written: dict[str, Path] = {}

    def __enter__(self) -> OutputSet:
        _make_dir(self.out_dir)
        self._lock.acquire(self.lock_timeout)
        try:
            recover(self.out_dir)
            token = f"{os.getpid()}-{secrets.token_hex(4)}"
            # The marker's name rides in the directory name so recovery publishes it last.
            stage = self.out_dir / f"{STAGE_PREFIX}{token}~{self.marker or ''}"
            try:
                stage.mkdir(mode=_DIR_MODE)
            except OSError as exc:
                raise write_error(self.out_dir, exc) from exc
            self._stage = stage
            _hook("locked")
        except BaseException:
            if self._stage is not None:
                shutil.rmtree(self._stage, ignore_errors=True)
                self._stage = None
            self._lock.release()
            raise
        return self

    def path(self, name: str) -> Path:
        """Where ``name`` will be once the set is published."""
        return self.out_dir / _check_name(name)

    @contextlib.contextmanager
    def open(self, name: str, mode: str = "w") -> Iterator[IO[Any]]:
        """A new file ``name`` of the set (``"w"``: UTF-8 text, ``"wb"``: bytes)."""
        if self._stage is None:
            raise RuntimeError("OutputSet.open outside its with block")
        dest = self.path(name)
        if name in self.written:
            raise ValueError(f"{name}: written twice in one output set")
        try:
            fd = os.open(
                self._stage / name,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                _FILE_MODE,
            )
        except OSError as exc:
            raise write_error(dest, exc) from exc
        with _open_fd(fd, mode, dest) as fh:
            yield fh
        self.written[name] = dest
        _hook(f"staged:{name}")

    def write_bytes(self, name: str, write: Callable[[IO[bytes]], None]) -> Path:
        """Write ``name`` with ``write(binary file)``; return its published path."""
        with self.open(name, "wb") as fh:
            write(fh)
        return self.path(name)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        stage, self._stage = self._stage, None
        try:
            if stage is None:
                return
            if exc_type is not None:
                shutil.rmtree(stage, ignore_errors=True)
                return
            with _signals_deferred():
                _fsync_dir(stage)
                commit = self.out_dir / (COMMIT_PREFIX + stage.name[len(STAGE_PREFIX) :])
                try:
                    os.rename(stage, commit)
                except OSError as exc:
                    shutil.rmtree(stage, ignore_errors=True)
                    raise write_error(self.out_dir, exc) from exc
                _fsync_dir(self.out_dir)
                _hook("committed")
                _publish(commit, self.out_dir, self.marker)
        finally:
            self._lock.release()


def _check_name(name: str) -> str:
    if not name or "/" in name or name in (".", "..") or name.startswith("."):
        raise ValueError(f"{name!r}: an output name is a plain file name")
    if name == LOCK_NAME:
        raise ValueError(f"{name!r} is reserved")
    return name
