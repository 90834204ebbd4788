"""Where a dataset's files are under ``--data-root``: the folder its archive unpacks to, or the root itself."""
from __future__ import annotations

from pathlib import Path

from benchmarks.errors import DataError


def locate(root, folder: str, markers, required, title: str, expected: str) -> Path:
    """``root/folder`` or ``root``, whichever holds one of the ``markers`` (file names); every name of
    ``required`` (files or folders, relative) must be there too. Raises `DataError` naming what is
    missing, or that nothing of ``title`` is under ``root``, followed by ``expected`` (the layout)."""
    root = Path(root)
    for candidate in (root / folder, root):
        if any((candidate / m).is_file() for m in markers):
            missing = [n for n in required if not (candidate / n).exists()]
            if missing:
                raise DataError(f"{candidate} is an incomplete {title} folder: {', '.join(missing)} "
                                f"{'is' if len(missing) == 1 else 'are'} missing. Expected {expected}.")
            return candidate
    if not root.is_dir():
        raise DataError(f'--data-root {root} is not a directory. Expected {expected}.')
    raise DataError(f'no {title} files under {root}. Expected {expected}.')
