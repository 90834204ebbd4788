"""``<run>/bench.log``: what a run printed, kept next to its results.

The console shows progress bars and the messages of the run; when the terminal closes they are gone.
`RunLog` is the run's ``log`` callable: each message goes to the console as before and, with a
timestamp, to ``bench.log`` in the run folder (flushed per line, so a killed run keeps everything up
to the kill). A rerun of the same command appends, after a marker line that names the command, the
process and whether it resumed. Progress bars stay on the terminal only.
"""
from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path
from typing import Callable


def _now() -> str:
    return time.strftime('%Y-%m-%d %H:%M:%S')


class RunLog:
    """``log(message)``: to ``console`` (default print) and, timestamped, to ``path`` (appended)."""

    def __init__(self, path: Path, console: Callable[[str], None] = print, argv=None, resumed: bool = False):
        self.path = Path(path)
        self.console = console
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, 'a', encoding='utf-8')
        command = ' '.join(argv if argv is not None else sys.argv)
        self._write(f'==== {_now()} {"resumed" if resumed else "started"} by pid {os.getpid()}: {command} ====')

    def _write(self, text: str) -> None:
        if self._file.closed:
            return
        self._file.write(text.rstrip('\n') + '\n')
        self._file.flush()

    def __call__(self, message: str = '') -> None:
        self.console(message)
        self.file_only(message)

    def file_only(self, message: str) -> None:
        """A message for the log file only (e.g. the leaderboard the console prints itself)."""
        stamp = _now()
        for line in str(message).splitlines() or ['']:
            self._write(f'{stamp} {line}')

    def exception(self, exc: BaseException) -> None:
        """The traceback of ``exc``, for the log file (the console shows its own message)."""
        self.file_only(''.join(traceback.format_exception(type(exc), exc, exc.__traceback__)))

    def close(self, status: str) -> None:
        self._write(f'==== {_now()} {status} ====')
        self._file.close()
