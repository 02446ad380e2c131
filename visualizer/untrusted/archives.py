"""Zip archives from untrusted files: every member's declared size checked before it is inflated.

A 1.6 MB member can inflate to 1.6 GB. zipfile stops inflating at the size the central directory
declares (and then finds the CRC wrong), so checking that declared size against a cap bounds the
memory; encrypted members, compression methods other than stored and deflate, bad CRCs and
truncated data are each one sentence.
"""
import zipfile
import zlib

from eqviz.errors import first_line
from eqviz.untrusted.files import FileKind, open_untrusted
from eqviz.untrusted.messages import format_size

MAX_MEMBERS = 2_000_000  # an ImageNet dataset zip holds 1.28 million images
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_DAMAGE = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError,
           RuntimeError, zlib.error, OverflowError, UnicodeDecodeError)


class UntrustedZip:
    """A zip file opened through `open_untrusted`; members read with `read`, each bounded."""

    def __init__(self, path, kind: FileKind):
        self.path, self.kind = path, kind
        self._file = open_untrusted(path, kind)
        try:
            self._zip = zipfile.ZipFile(self._file)
        except _DAMAGE as exc:
            self._file.close()
            raise kind.refuse(path, f"is not a readable zip archive ({first_line(exc)})") from None
        infos = self._zip.infolist()
        if len(infos) > MAX_MEMBERS:
            self.close()
            raise kind.refuse(path, f"holds {len(infos):,} members, more than the {MAX_MEMBERS:,} eqviz reads")
        self._infos = {info.filename: info for info in infos}

    def names(self) -> list[str]:
        return list(self._infos)

    def inflated_size(self) -> int:
        """What all members declare they inflate to (`read` holds each member to its declaration)."""
        return sum(info.file_size for info in self._infos.values())

    def __contains__(self, name) -> bool:
        return name in self._infos

    def read(self, name: str, max_bytes: int) -> bytes:
        """Member `name`, refused unless plain (not encrypted, stored or deflate), declaring at most
        `max_bytes` and intact (its CRC checked)."""
        info = self._infos[name]
        where = f"{self.path}:{name[:200]}"
        if info.flag_bits & 0x1:
            raise self.kind.refuse(where, "is encrypted; eqviz reads only unencrypted zips")
        if info.compress_type not in _METHODS:
            raise self.kind.refuse(where, f"uses compression method {info.compress_type}; eqviz reads only "
                                          "stored and deflate members (re-zip it)")
        if info.file_size > max_bytes:
            raise self.kind.refuse(where, f"inflates to {format_size(info.file_size)}, more than the "
                                          f"{format_size(max_bytes)} such a member may have")
        try:
            with self._zip.open(info) as f:
                data = f.read(max_bytes + 1)
        except _DAMAGE as exc:
            raise self.kind.refuse(where, f"is damaged ({first_line(exc)})") from None
        if len(data) != info.file_size:
            raise self.kind.refuse(where, "is damaged (its size differs from the one the archive declares)")
        return data

    def close(self) -> None:
        self._zip.close()
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
