"""Filling shared state safely: one primitive for every writer of the cache and of run folders.

Several processes share ``$SSLCB_CACHE`` (the ranks of one ``torchrun``, two users, two
``tools/bench.py`` runs) and any of them can be killed at any moment. Every writer of shared state —
embedded and detection data, the cached teacher, prepared results (k-means), teacher-output memmaps,
the mmcv wheel — goes through `fill`:

1. if the entry is complete, return it (no lock: a complete entry never changes);
2. take ``<entry>.lock`` (`filelock.FileLock`, an ``flock`` the kernel releases even on SIGKILL),
   saying once that it waits when another process holds it;
3. check again (the holder may just have filled it), else write into a temporary sibling with a name
   unique to this process and call, ``fsync`` its files, remove a stale incomplete entry left by a
   killed writer, and rename the temporary into place (atomic on POSIX), then ``fsync`` the folder.

So a reader sees a complete entry or none, two writers never share a temporary name, and the second
of two processes waits for the first instead of racing it. Long fills that cannot be one rename (the
teacher's training, which resumes from its own checkpoints) hold the same lock with `locked`.
"""
from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from filelock import FileLock, Timeout


def lock_path(target: Path) -> Path:
    """The lock file of ``target``: a sibling ``<name>.lock``."""
    target = Path(target)
    return target.with_name(target.name + '.lock')


@contextmanager
def locked(target: Path, log: Callable[[str], None] | None = None, what: str | None = None):
    """Hold ``target``'s lock for the block; logs once (``log``) when another process holds it."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(target)))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if log is not None:
            log(f'waiting for another process that is writing {what or target} ({lock_path(target)})')
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def temporary_sibling(target: Path) -> Path:
    """A name next to ``target`` no other process (or earlier call) uses: pid + random suffix."""
    target = Path(target)
    return target.with_name(f'.{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp')


def fsync_tree(path: Path) -> None:
    """Flush a file, or every file of a folder, and the folders themselves, to the disk."""
    path = Path(path)
    paths = [path] if path.is_file() else [p for p in path.rglob('*')] + [path]
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


def publish(tmp: Path, target: Path) -> None:
    """Move the finished ``tmp`` onto ``target`` (replacing whatever is there) durably."""
    fsync_tree(tmp)
    if target.is_dir() and not target.is_symlink():
        _remove(target)       # a folder cannot be renamed over a non-empty one; the caller holds the lock
    os.replace(tmp, target)
    _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fill(target: Path, produce: Callable[[Path], None], *, complete: Callable[[Path], bool] | None = None,
         log: Callable[[str], None] | None = None, what: str | None = None) -> Path:
    """Make ``target`` (a file or a folder) exist and be complete, writing it at most once.

    ``produce(tmp)`` writes the entry at path ``tmp`` (a file, or a folder it creates);
    ``complete(target)`` says whether an existing entry is finished (default: it exists). Returns
    ``target``. An exception in ``produce`` leaves no temporary behind and the entry as it was.
    """
    target = Path(target)
    complete = complete or (lambda p: p.exists())
    if complete(target):
        return target
    with locked(target, log, what):
        if complete(target):
            return target
        tmp = temporary_sibling(target)
        try:
            produce(tmp)
            if not tmp.exists():
                raise RuntimeError(f'the writer of {target} returned without writing anything')
            publish(tmp, target)
        finally:
            _remove(tmp)
    return target


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically and durably (no lock: for files one process owns, e.g.
    a run folder's state under its run lock). A crash leaves the old file or the new one."""
    path = Path(path)
    tmp = temporary_sibling(path)
    try:
        tmp.write_bytes(data)
        publish(tmp, path)
    finally:
        _remove(tmp)
