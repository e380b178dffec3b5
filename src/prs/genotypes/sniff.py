"""One look at a genotype file: what it is (plain, gzip, BGZF, BCF) and whether it is whole.

:func:`sniff` opens each file once, reads its first bytes (magic, the BGZF block header,
the first bytes of the inflated text to tell BCF from VCF) and its last 28 (the BGZF
end-of-file block), and never raises for what it finds: a missing file, a directory or a
file cut short are recorded and raised later, in the order the readers have always checked
them (:meth:`GenotypeFile.check_present`, then :meth:`GenotypeFile.check_complete`, then the
header). :func:`prs.genotypes.open_genotypes` sniffs, chooses the engine from the result
and hands the :class:`GenotypeFile` to the source, so nothing reads the magic bytes again.

The text of a VCF (plain, gzip or BGZF) is then read through :func:`open_text` and
:func:`text_lines`, which take the sniffed kind instead of looking again.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from isal import isal_zlib

from prs.errors import GenotypeFileError
from prs.genotypes import bgzf

#: What a decompressor (isal's igzip, gzip, zlib) raises on a corrupt or cut-short stream.
DECOMPRESS_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    zlib.error,
    isal_zlib.error,
    gzip.BadGzipFile,
)

# Compressed bytes read to tell BCF from VCF inside gzip: a BGZF block is at most 64 KiB.
_HEAD_BYTES = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class GenotypeFile:
    """What :func:`sniff` found about one file.

    Attributes
    ----------
    name
        The path as given (error messages quote it so).
    kind
        ``"missing"``, ``"directory"``, ``"unreadable"`` (opening raised ``error``),
        ``"bgzf"`` (a BGZF block header first), ``"gzip"`` (other gzip) or ``"plain"``
        (not compressed; an uncompressed BCF too: see :attr:`bcf`).
    size
        Bytes in the file.
    tail
        Its last 28 bytes (the BGZF end-of-file block of a complete BGZF file).
    bcf
        True for BCF, False for VCF text, None when the first bytes could not tell (a
        stream cut or corrupt there: :meth:`is_bcf` then asks the way the readers always
        have, and raises as they did).
    """

    name: str
    kind: str
    size: int = 0
    tail: bytes = b""
    bcf: bool | None = False
    error: OSError | None = field(default=None, compare=False)

    @property
    def path(self) -> Path:
        return Path(self.name)

    @property
    def is_bgzf(self) -> bool:
        return self.kind == "bgzf"

    @property
    def is_gzip(self) -> bool:
        """gzip or BGZF (what the text readers inflate)."""
        return self.kind in ("bgzf", "gzip")

    def check_present(self) -> None:
        """Raise :class:`GenotypeFileError` for a directory or a missing file (and re-raise
        the ``OSError`` opening it raised)."""
        if self.kind == "directory":
            raise GenotypeFileError(
                f"{self.path}: is a directory, not a VCF file; name the file(s)"
            )
        if self.kind == "missing":
            raise GenotypeFileError(f"{self.path}: genotype file not found")
        if self.error is not None:
            raise self.error

    def check_complete(self) -> None:
        """Raise if a BGZF file (``.vcf.gz``, ``.bcf``) lacks its end-of-file block (htslib
        reads a file cut at a block boundary as a valid shorter one); plain gzip detects
        truncation itself."""
        if self.is_bgzf:
            problem = bgzf.eof_problem(self.path, self.size, self.tail)
            if problem is not None:
                raise GenotypeFileError(problem)

    def is_bcf(self) -> bool:
        """True for BCF (compressed or not)."""
        if self.bcf is not None:
            return self.bcf
        with gzip.open(self.path, "rb") as gz:  # (raises as the readers always have)
            return gz.read(3) == b"BCF"


def sniff(path: str | os.PathLike[str] | GenotypeFile) -> GenotypeFile:
    """Look at ``path`` once (see the module docstring); never raises for its content.

    Examples
    --------
    >>> from prs.example import example_paths
    >>> found = sniff(example_paths().vcf)
    >>> found.kind, found.is_bcf()
    ('bgzf', False)
    >>> sniff("no-such.vcf.gz").kind
    'missing'
    """
    if isinstance(path, GenotypeFile):
        return path
    name = str(path)
    as_path = Path(name)
    if as_path.is_dir():
        return GenotypeFile(name, "directory")
    if not as_path.is_file():
        return GenotypeFile(name, "missing")
    try:
        with open(as_path, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
            size = fh.seek(0, os.SEEK_END)
            tail = b""
            if size >= len(bgzf.BGZF_EOF):
                fh.seek(-len(bgzf.BGZF_EOF), os.SEEK_END)
                tail = fh.read(len(bgzf.BGZF_EOF))
    except OSError as exc:
        return GenotypeFile(name, "unreadable", error=exc)
    if head[:2] != _GZIP_MAGIC:
        return GenotypeFile(name, "plain", size, tail, head[:2] == b"BC")
    kind = "bgzf" if bgzf.is_bgzf_header(head[:18]) else "gzip"
    return GenotypeFile(name, kind, size, tail, _starts_with_bcf(head))


def _starts_with_bcf(head: bytes) -> bool | None:
    """Whether gzip data ``head`` inflates to text starting ``BCF`` (None: cannot tell)."""
    text = b""
    data = head
    try:
        while len(text) < 3 and data:
            member = zlib.decompressobj(31)
            text += member.decompress(data, 3 - len(text))
            if not member.eof:
                break
            data = member.unused_data
    except zlib.error:
        return None
    return text == b"BCF" if len(text) >= 3 else None


def open_text(file: GenotypeFile) -> io.BufferedIOBase:
    """A binary stream of a text VCF's text (plain or gzip, inflated by ISA-L)."""
    if file.is_gzip:
        try:
            from isal import igzip

            return igzip.open(file.path, "rb")
        except ImportError:  # pragma: no cover - isal is a dependency
            return gzip.open(file.path, "rb")
    return open(file.path, "rb")


def text_lines(file: GenotypeFile) -> Iterator[bytes]:
    """The lines of a text VCF (plain, gzip or BGZF), each with its newline.

    A BGZF file is read block by block through :class:`prs.genotypes.bgzf.BgzfReader`,
    which checks each block's CRC-32 before its text is used (a streaming gzip reader
    hands out a corrupt member's text before its CRC fails) and reads several members
    (files joined with cat) the same way the fast engine does: corrupt data is the same
    error on both engines.
    """
    if not file.is_bgzf:
        with open_text(file) as fh:
            yield from fh
        return
    carry = b""
    for chunk in bgzf.BgzfReader(file.path):
        text = chunk.buffer[bgzf.CARRY_ROOM : bgzf.CARRY_ROOM + chunk.size].tobytes()
        lines = (carry + text).split(b"\n")
        carry = lines.pop()
        for line in lines:
            yield line + b"\n"
    if carry:
        yield carry
