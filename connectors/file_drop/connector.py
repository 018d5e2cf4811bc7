"""Deliveries from ``inbox/<resource>/``: each matching file, oldest first, is landed, skipped or rejected.

A department uploads under a ``.partial`` or ``.tmp`` name and renames when the upload is complete; such
names, dotfiles, Excel lock files (``~$…``) and every sub-folder (``_rejected/``, ``_duplicates/``) are passed
over. File names come from outside and are never trusted: only regular files directly in the inbox are read,
a symbolic link is refused without being followed, and every path we build uses :func:`safe_name`.
"""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import os
import shutil
import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from connectors.base import Connector, Delivery, Landed, Window
from connectors.file_drop.config import FileDropConfig
from connectors.formats import SUPPORTED, UnreadableFileError, detect_encoding, detect_format
from connectors.registry import register_connector

REJECTED = "_rejected"
DUPLICATES = "_duplicates"
_IN_PROGRESS = (".partial", ".tmp")
_WINDOWS_RESERVED = set('<>:"|?*')
_MAX_NAME_BYTES = 180  # leaves room for the sha prefix and ".error.txt" under the usual 255-byte limit


@register_connector("file_drop")
class FileDropConnector(Connector[FileDropConfig]):
    config_class = FileDropConfig

    @property
    def inbox(self) -> Path:
        return self.context.settings.inbox_for(self.context.resource.id)

    def deliveries(self, window: Window) -> Iterator[Delivery]:
        """Every matching file in the inbox, oldest modification time first, then by name.

        The window is not used: a dropped file is ingested by the first run that sees it, whatever its time.
        """
        if not self.inbox.is_dir():
            return
        found: list[tuple[int, str, os.DirEntry[str]]] = []
        with os.scandir(self.inbox) as entries:
            for entry in entries:
                if _passed_over(entry.name) or not self._matches(entry.name):
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                except FileNotFoundError:  # removed while we looked
                    continue
                if stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode):  # folders, pipes, sockets: never read
                    found.append((info.st_mtime_ns, entry.name, entry))
        for _, _, entry in sorted(found, key=lambda item: (item[0], item[1])):
            yield FileDelivery(self, Path(entry.path))

    def _matches(self, name: str) -> bool:
        lowered = name.lower()
        return any(fnmatch.fnmatchcase(lowered, pat.lower()) for pat in self.config.patterns())


def _passed_over(name: str) -> bool:
    lowered = name.lower()
    return name.startswith((".", "~$")) or lowered.endswith(_IN_PROGRESS) or name in (REJECTED, DUPLICATES)


class FileDelivery(Delivery):
    """One file in the inbox. Its sha256 is taken in place; landing moves it (same file system: a rename)."""

    def __init__(self, connector: FileDropConnector, path: Path):
        self.connector = connector
        self.path = path
        self.name = path.name
        self.source_name = display_name(path.name)
        self._sha: str | None = None
        self._hashed_identity: tuple[int, int, int] | None = None
        self._landed_path: Path | None = None

    # -- the runner's calls ----------------------------------------------------------------------------
    def fingerprint(self) -> str | None:
        if self._refusal() is not None:
            return None  # a link is never opened, so it has no fingerprint; land() says why it is refused
        if self._sha is None:
            try:
                self._sha, self._hashed_identity = _sha256_regular(self.path)
            except OSError:  # swapped for a link or removed since the check: land() refuses it with the reason
                return None
        return self._sha

    def land(self, landing_dir: Path, batch_hint: str) -> Landed:
        """Move the file into ``landing_dir``. A symbolic link, a file of an unsupported type or one that
        vanished is refused: it is put aside in ``_rejected/`` with the reason (so the next run does not meet
        it again, whether or not the caller catches the error) and :class:`UnreadableFileError` is raised."""
        config = self.connector.config
        fmt = config.format or detect_format(self.name)
        refusal = self._refusal()
        if refusal is None and fmt is None:
            refusal = (
                f"{self.source_name}: files of type {Path(self.name).suffix or '(no extension)'!r} are not "
                f"supported. Supported: {SUPPORTED}. Save the data in one of these formats and deliver it again. "
                "/ 不支持此文件类型，请另存为 CSV、Excel (.xlsx)、JSON 或 Parquet 后重新提交。"
            )
        if refusal is not None or fmt is None:
            message = refusal or ""
            self.reject(None, message)
            raise UnreadableFileError(message)
        sha = self.fingerprint()
        assert sha is not None
        delivered_at = datetime.fromtimestamp(os.stat(self.path).st_mtime)
        landing_dir.mkdir(parents=True, exist_ok=True)
        tmp = landing_dir / f".{safe_name(batch_hint)}.landing"
        _move(self.path, tmp)
        if not stat.S_ISREG(os.lstat(tmp).st_mode):  # swapped for a link after it was checked: never read it
            self._landed_path = tmp
            message = self._refusal_of(tmp) or f"{self.source_name}: is not a regular file."
            self.reject(None, message)
            raise UnreadableFileError(message)
        if _identity(os.stat(tmp)) != self._hashed_identity:  # rewritten since it was hashed, or copied
            sha, _ = _sha256_regular(tmp)
        final = landing_dir / f"{sha[:16]}__{safe_name(self.name)}"
        os.replace(tmp, final)
        self._landed_path = final
        return Landed(
            path=final, sha256=sha, format=fmt, source_name=self.source_name, delivered_at=delivered_at,
            encoding=self._encoding(final, fmt), options={"delimiter": config.delimiter, "sheet": config.sheet},
        )

    def skip(self, message: str) -> None:
        if not os.path.lexists(self.path):
            return
        folder = self.connector.inbox / DUPLICATES
        target = _move_out(self.path, folder, self.name)
        _write_note(folder / f"{target.name}.skipped.txt", _skipped_note(self, message))

    def reject(self, landed: Landed | None, message: str) -> None:
        sources = [landed.path if landed else None, self._landed_path, self.path]
        source = next((p for p in sources if p is not None and os.path.lexists(p)), None)
        folder = self.connector.inbox / REJECTED
        if source is None:  # already moved (a second reject): keep the first note
            return
        target = _move_out(source, folder, self.name)
        _write_note(folder / f"{target.name}.error.txt", _rejected_note(self, landed, message))

    # -- helpers ------------------------------------------------------------------------------------------
    def _refusal(self) -> str | None:
        return self._refusal_of(self.path)

    def _refusal_of(self, path: Path) -> str | None:
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return f"{self.source_name}: disappeared from the inbox before it could be read. Deliver it again."
        if stat.S_ISLNK(info.st_mode):
            return (f"{self.source_name}: is a symbolic link; links are never followed. Copy the file itself "
                    "into the inbox. / 这是一个符号链接，系统不会读取链接，请直接放入文件本身。")
        if not stat.S_ISREG(info.st_mode):
            return f"{self.source_name}: is not a regular file. Drop the file itself into the inbox."
        return None

    def _encoding(self, path: Path, fmt: str) -> str | None:
        if fmt in ("xlsx", "parquet"):
            return None
        enc = self.connector.config.encoding
        if enc == "gbk":
            return "gb18030"  # a superset that decodes GBK bytes identically, plus the characters GBK lacks
        if enc != "auto":
            return enc
        try:
            return detect_encoding(path)
        except UnreadableFileError:
            return "auto"  # the reader says what is wrong, with the landed file known to the runner


def safe_name(name: str) -> str:
    """A file name from outside reduced to one harmless path component: the last part after any ``/`` or
    ``\\``, no control or Windows-reserved characters, no leading dots (so never ``..``), at most
    ``_MAX_NAME_BYTES`` bytes with the extension kept."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join("_" if (not ch.isprintable() or ch in _WINDOWS_RESERVED) else ch for ch in base)
    base = base.strip(" .")
    if not base:
        return "file"
    if len(base.encode("utf-8")) > _MAX_NAME_BYTES:
        stem, dot, ext = base.rpartition(".")
        ext = f".{ext}" if dot and len(ext) <= 10 else ""
        stem = base[: len(base) - len(ext)] if ext else base
        while len((stem + ext).encode("utf-8")) > _MAX_NAME_BYTES:
            stem = stem[:-1]
        base = stem + ext
    return base


def display_name(name: str) -> str:
    """The name as shown in messages: control characters (a line break in a file name…) made visible."""
    return "".join(ch if ch.isprintable() else "?" for ch in name)


def _identity(info: os.stat_result) -> tuple[int, int, int]:
    return (info.st_ino, info.st_size, info.st_mtime_ns)


def _sha256_regular(path: Path) -> tuple[str, tuple[int, int, int]]:
    """sha256 of a regular file opened without following a link (a link swapped in after the check fails
    here with ELOOP instead of being read), and the identity of exactly what was hashed."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        identity = _identity(os.fstat(fh.fileno()))
        digest = hashlib.sha256()
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest(), identity


def _move(source: Path, target: Path) -> None:
    """Rename; across file systems copy to the target's folder first so the target appears whole."""
    try:
        os.replace(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        partial = target.with_name(f".{target.name}.partial")
        shutil.copy2(source, partial, follow_symlinks=False)
        os.replace(partial, target)
        os.unlink(source)


def _unique_target(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name_2.ext``, ``name_3.ext``… when an earlier file (or its note) is there."""
    base = safe_name(name)
    stem, ext = os.path.splitext(base)
    candidate, n = base, 1
    while any(os.path.lexists(folder / f"{candidate}{suffix}") for suffix in ("", ".error.txt", ".skipped.txt")):
        n += 1
        candidate = f"{stem}_{n}{ext}"
    return folder / candidate


def _move_out(source: Path, folder: Path, name: str) -> Path:
    if folder.is_symlink():
        raise UnreadableFileError(
            f"{folder} is a symbolic link; zhiwang never writes through links. Remove the link (a plain folder "
            "of that name is created on the next run)."
        )
    folder.mkdir(parents=True, exist_ok=True)
    target = _unique_target(folder, name)
    _move(source, target)
    return target


def _write_note(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _rejected_note(delivery: FileDelivery, landed: Landed | None, message: str) -> str:
    resource = delivery.connector.context.resource
    sha = landed.sha256 if landed else delivery._sha
    return "\n".join([
        f"文件未被接收 / File not accepted: {delivery.source_name}",
        f"数据资源 / Resource: {resource.id} ({resource.title})",
        *([f"SHA-256: {sha}"] if sha else []),
        "",
        "原因 / Reason:",
        message,
        "",
        "如何重新提交 / How to deliver again:",
        f"  修正上述问题后，将文件重新放入 inbox/{resource.id}/ 目录。上传时请先使用 .partial 或 .tmp 后缀，",
        "  上传完成后再改为正式文件名。本 _rejected 目录中的文件不会再被读取，可以删除。",
        f"  Fix the problem above and drop the corrected file into inbox/{resource.id}/ again. Upload it under a",
        "  .partial or .tmp name and rename it once the upload is complete. Files in this _rejected folder are",
        "  never read again; you may delete them.",
        "",
    ])


def _skipped_note(delivery: FileDelivery, message: str) -> str:
    resource = delivery.connector.context.resource
    return "\n".join([
        f"重复文件，未再次导入 / Duplicate file, not ingested again: {delivery.source_name}",
        f"数据资源 / Resource: {resource.id} ({resource.title})",
        *([f"SHA-256: {delivery._sha}"] if delivery._sha else []),
        "",
        message,
        "",
        "  内容与已接收的文件完全相同。如需更正数据，请提交修改后的文件。",
        "  Its content is byte for byte the same as a delivery already ingested. To correct data, deliver a",
        "  changed file.",
        "",
    ])
