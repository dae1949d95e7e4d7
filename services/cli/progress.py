"""Progress on stderr: a bar redrawn in place on a terminal; elsewhere (a log, CI) a plain line now and then."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping
from typing import TextIO

#: Seconds between plain progress lines when stderr is not a terminal.
PLAIN_EVERY_S = 10.0
BAR_WIDTH = 24


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A text bar such as [######......] for a fraction in 0..1 (clamped)."""
    filled = round(min(max(fraction, 0.0), 1.0) * width)
    return "[" + "#" * filled + "." * (width - filled) + "]"


def human_bytes(size: float) -> str:
    """A byte count for people: 512 B, 1.5 KiB, 12.0 MiB, 1.2 GiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def printable(text: object) -> str:
    """Text from the server made safe for a terminal: control characters (escape codes) become '?'."""
    return "".join(c if c.isprintable() else "?" for c in str(text))


class Progress:
    """One progress display on `stream`: `update(line)` as things move, `close()` when done."""

    def __init__(self, stream: TextIO, *, tty: bool | None = None, every_s: float = PLAIN_EVERY_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.tty = _isatty(stream) if tty is None else tty
        self.every_s = every_s
        self._clock = clock
        self._printed_at = clock()
        self._key: object = None
        self._drawn = 0

    def update(self, line: str, *, key: object = None) -> None:
        """Redraw `line` on a terminal; elsewhere print it when `key` changes or every `every_s` seconds."""
        if self.tty:
            self._draw(line)
            return
        now = self._clock()
        if key != self._key or now - self._printed_at >= self.every_s:
            self.stream.write(line + "\n")
            self.stream.flush()
            self._key, self._printed_at = key, now

    def close(self) -> None:
        """Leave the last drawn line in place and move to a fresh line."""
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = 0

    def _draw(self, line: str) -> None:
        line = line[: max(shutil.get_terminal_size().columns - 1, 20)]
        # Spaces, not an escape code, wipe what is left of a longer previous line: works on every terminal.
        self.stream.write("\r" + line.ljust(self._drawn))
        self.stream.flush()
        self._drawn = len(line)


def upload_line(name: str, sent: int, total: int) -> str:
    """The upload's progress: file name, bar, percent and bytes sent."""
    fraction = sent / total if total else 1.0
    return f"uploading {printable(name)} {bar(fraction)} {fraction:4.0%}  {human_bytes(sent)} / {human_bytes(total)}"


def batch_line(batch: Mapping[str, object]) -> str:
    """A batch's load: status, bar and percent, then its row counts once it ended (the ETL counts at the end)."""
    progress = float(batch.get("progress") or 0.0)
    line = f"batch {batch['batch_num']} {batch['status']} {bar(progress)} {progress:4.0%}"
    if batch["status"] in ("completed", "failed") and batch.get("num_total_rows") is not None:
        line += f"  {batch['num_total_rows']:,} rows read, {batch.get('num_rejected_rows') or 0:,} rejected"
    return line


def forecast_text(batch: Mapping[str, object]) -> str:
    """A batch's forecast status with its runs counted: 'partial (34 of 38 forecast, 4 failed)'."""
    status = str(batch.get("forecast_status") or "-")
    runs = batch.get("forecast_runs")
    if not isinstance(runs, Mapping) or not runs.get("total"):
        return status
    parts = [f"{runs.get('completed', 0)} of {runs['total']} forecast"]
    if runs.get("failed"):
        parts.append(f"{runs['failed']} failed")
    waiting = (runs.get("running") or 0) + (runs.get("pending") or 0)
    if waiting:
        parts.append(f"{waiting} to go")
    return f"{status} ({', '.join(parts)})"


def forecast_line(batch: Mapping[str, object], elapsed_s: float) -> str:
    """A batch's forecasts while they run: their status and the seconds waited."""
    text = forecast_text(batch) if batch.get("forecast_status") else "none"
    return f"batch {batch['batch_num']} forecasts {text}  ({elapsed_s:.0f} s)"


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
