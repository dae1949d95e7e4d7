"""Counting a batch as it streams by: rows read, missing, rejected, and the rejects worth reporting."""

from __future__ import annotations

from dataclasses import dataclass, field

from common.models import BatchError
from services.etl.reader import Chunk
from services.etl.validate import Validated

#: How many rejected rows an error_log quotes (the full list is at /batches/<id>/errors).
QUOTED = 3


class BatchRejected(Exception):
    """The whole batch is refused (bad file, too many bad rows); nothing of it is written."""

    def __init__(self, message: str, tally: Tally | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.tally = tally

    def __str__(self) -> str:
        # RQ logs the exception a failed job raises, and `message` may quote rows of the file: file
        # contents stay in the batch's error_log and batch_errors, out of the logs.
        return "the batch was rejected; the reason is in its error_log"


@dataclass
class Tally:
    """Running counts of a batch; keeps the first `keep` rejected rows with their details."""

    keep: int
    total: int = 0
    missing: int = 0
    rejected: int = 0
    filtered: int = 0
    #: Sum of every staged value: while it fits DECIMAL(12,2), no key's sum can overflow it.
    cents_total: int = 0
    errors: list[tuple[int, str, str, str]] = field(default_factory=list)  # line, column, value, reason

    def add(self, chunk: Chunk, checked: Validated) -> None:
        """Count one validated chunk."""
        malformed = len(chunk.malformed) * chunk.line_cells  # a wide file's line holds several observations
        self.total += len(chunk.rows) - checked.blank + malformed
        self.missing += int(checked.good["cents"].isna().sum())
        self.cents_total += int(checked.good["cents"].sum())
        self.rejected += len(checked.rejected) + malformed
        self.filtered += checked.filtered
        room = self.keep - len(self.errors)
        if room > 0:
            found = [(line, "(row)", "", reason) for line, reason in chunk.malformed]
            found += list(checked.rejected.itertuples(index=False, name=None))
            if chunk.label is not None:  # one sheet per category: say which sheet the line is on
                found = [(line, f"{chunk.label}!{column}", value, why) for line, column, value, why in found]
            self.errors.extend(sorted(found)[:room])

    def check(self, max_share: float) -> None:
        """Raise BatchRejected when there is no data or too large a share of it was rejected."""
        if self.total == 0:
            raise BatchRejected("the file has no data rows", self)
        if self.rejected == self.total:
            raise BatchRejected(f"all {self.total} rows were rejected; nothing was loaded. "
                                f"{self._quote()}", self)
        if self.rejected / self.total > max_share:
            raise BatchRejected(
                f"{self.rejected} of {self.total} rows ({self.rejected / self.total:.1%}) were rejected, more "
                f"than MAX_REJECTED_SHARE allows ({max_share:.0%}); nothing was loaded. {self._quote()}", self)

    def summary(self, batch_num: int) -> str | None:
        """The error_log of a completed batch: None, or how many rows were rejected and where to look."""
        if not self.rejected:
            return None
        rows = "1 row was" if self.rejected == 1 else f"{self.rejected} rows were"
        return f"{rows} rejected (listed at /batches/{batch_num}/errors). {self._quote()}"

    def columns(self) -> dict[str, int]:
        """The upload_metadata counters this tally owns."""
        return {"num_total_rows": self.total, "num_missing_rows": self.missing,
                "num_rejected_rows": self.rejected, "num_filtered_rows": self.filtered}

    def error_rows(self, batch_num: int) -> list[dict[str, object]]:
        """Rows for the batch_errors table."""
        return [{"batch_num": batch_num, "line": int(line), "column_name": _fit(column, _COLUMN_WIDTH),
                 "value": value, "reason": reason} for line, column, value, reason in self.errors]

    def _quote(self) -> str:
        quoted = "; ".join(_describe(*error) for error in self.errors[:QUOTED])
        return f"First: {quoted}." if quoted else ""


#: Width of batch_errors.column_name: a longer category header or sheet!column is cut to it.
_COLUMN_WIDTH = BatchError.__table__.c.column_name.type.length


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _describe(line: int, column: str, value: str, reason: str) -> str:
    where = f"line {line}" if column == "(row)" else f"line {line} {column}"
    return f"{where}: {reason}" + (f" ({value!r})" if value else "")
