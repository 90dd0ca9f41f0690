"""Shared ETL pieces: rejects, load reports, file-level errors and the COPY helper."""

from __future__ import annotations

import codecs
import csv
import io
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypedDict

import pandas as pd
from psycopg2 import sql as psql

from gis.errors import InvalidInput


class EtlError(InvalidInput):
    """A whole input file is unusable (empty, unreadable, wrong CRS, missing column)."""

    code = "etl_error"


def file_error(message: str, code: str, field: str = "file") -> EtlError:
    """A file-level error naming the field (or 'file') and the reason."""
    return EtlError(message, code=code, details=[{"field": field, "reason": message}])


@dataclass
class Reject:
    """One input row that was not loaded, and why."""

    row: int
    id: str | None
    field: str
    code: str
    reason: str


class RejectDict(TypedDict):
    """JSON form of a ``Reject``."""

    row: int
    id: str | None
    field: str
    code: str
    reason: str


class ReportDict(TypedDict):
    """JSON form of a ``Report``: its fields, ``loaded``, the first rejects, rejects per code."""

    kind: str
    file: str
    source: str | None
    crs: str | None
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    committed: bool
    notes: list[str]
    rejects: list[RejectDict]
    placement: dict[str, Any]
    elapsed_s: float
    rejects_file: str | None
    encoding: str | None
    footprints: dict[str, Any]
    loaded: int
    rejected_by_reason: dict[str, int]


class DecodedText(NamedTuple):
    """The text of a file and the codec that decoded it."""

    text: str
    codec: str


class CsvText(NamedTuple):
    """A CSV read as strings and the name of the encoding used."""

    frame: pd.DataFrame
    encoding: str


@dataclass
class Report:
    """What a load read, wrote, left alone and rejected."""

    kind: str
    file: str
    source: str | None = None
    crs: str | None = None
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    committed: bool = False
    notes: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    placement: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0
    rejects_file: str | None = None
    encoding: str | None = None
    footprints: dict[str, Any] = field(default_factory=dict)

    @property
    def loaded(self) -> int:
        """Rows written or already up to date (inserted + updated + unchanged)."""
        return self.inserted + self.updated + self.unchanged

    def reject(self, row: int, id_: Any, field_: str, code: str, reason: str) -> None:
        """Record one rejected row."""
        self.rejects.append(Reject(row, None if id_ is None else str(id_), field_, code, reason))
        self.rejected = len(self.rejects)

    def to_dict(self, max_rejects: int = 20) -> ReportDict:
        """JSON summary; only the first ``max_rejects`` rejects inline (all are in the file)."""
        d: Any = asdict(self)
        d["loaded"] = self.loaded
        d["rejects"] = [asdict(r) for r in sorted(self.rejects, key=lambda r: r.row)[:max_rejects]]
        by_code: dict[str, int] = {}
        for r in self.rejects:
            by_code[r.code] = by_code.get(r.code, 0) + 1
        d["rejected_by_reason"] = by_code
        return d

    def write_rejects(self, path: str | Path) -> Path:
        """Write every reject to a CSV file (row, id, field, code, reason)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["row", "id", "field", "code", "reason"])
            for r in sorted(self.rejects, key=lambda r: r.row):
                w.writerow([r.row, r.id, r.field, r.code, r.reason])
        self.rejects_file = str(p)
        return p

    def write(self, path: str | Path) -> Path:
        """Write the JSON report, and the rejects next to it as ``<name>.rejects.csv``."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        self.write_rejects(p.with_suffix(".rejects.csv"))
        p.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str),
                     encoding="utf-8")
        return p


def copy_frame(cur: Any, table: str, frame: pd.DataFrame, chunk_rows: int = 200_000,
               progress: Any = None) -> int:
    """COPY a DataFrame (columns named like the table's) into ``table`` in CSV chunks."""
    stmt = psql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, NULL '')").format(
        psql.Identifier(table), psql.SQL(", ").join(map(psql.Identifier, frame.columns)))
    n = 0
    for start in range(0, len(frame), chunk_rows):
        part = frame.iloc[start:start + chunk_rows]
        buf = io.StringIO()
        part.to_csv(buf, index=False, header=False, na_rep="")
        buf.seek(0)
        cur.copy_expert(stmt, buf)
        n += len(part)
        if progress is not None:
            progress.update(len(part))
    return n


ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (with BOM)",
                  "gb18030": "GB18030 (GBK)"}


def _codec(encoding: str) -> str:
    """The Python codec of an ``--encoding`` value (gbk / gb2312 read as their superset)."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise file_error(f"encoding {encoding!r} is not an encoding Python knows (e.g. "
                         "utf-8, gb18030, gbk)", "unknown_encoding", "encoding") from None
    return "gb18030" if name in ("gbk", "gb2312") else name


def decode_text(data: bytes, name: str, encoding: str | None = None) -> DecodedText:
    """The text of a file and the encoding used: ``encoding`` when given, else UTF-8 (with or
    without BOM), else GB18030 (Excel on Chinese Windows saves GBK, which it contains)."""
    if encoding:
        codec = _codec(encoding)
        codec = "utf-8-sig" if codec == "utf-8" and data.startswith(codecs.BOM_UTF8) else codec
        try:
            return DecodedText(data.decode(codec), codec)
        except UnicodeDecodeError as e:
            raise file_error(f"{name}: not {encoding} text (byte {e.start}: {e.reason}); leave "
                             "out the `encoding` option to detect it", "bad_encoding",
                             "encoding") from None
    try:
        return DecodedText(data.decode("utf-8-sig"),
                           "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8")
    except UnicodeDecodeError as e:
        if e.reason == "unexpected end of data":  # UTF-8 cut in the middle of a character
            return DecodedText(data[:e.start].decode("utf-8-sig"), "utf-8")
    try:
        return DecodedText(data.decode("gb18030"), "gb18030")
    except UnicodeDecodeError:
        raise file_error(f"{name}: the text is neither UTF-8 nor GB18030/GBK; name its "
                         "encoding with the `encoding` option", "bad_encoding",
                         "encoding") from None


def read_csv_text(path: str | Path, encoding: str | None = None,
                  **kwargs: Any) -> CsvText:
    """A CSV as strings (blank cells ""), decoded by ``decode_text``; and the encoding used."""
    p = Path(path)
    if not p.exists():
        raise file_error(f"{p}: no such file", "no_such_file")
    body, used = decode_text(p.read_bytes(), p.name, encoding)
    try:
        df = pd.read_csv(io.StringIO(body), dtype=str, keep_default_na=False, **kwargs)
    except pd.errors.EmptyDataError:
        raise file_error(f"{p.name}: the file is empty", "empty_file") from None
    except pd.errors.ParserError as e:
        raise file_error(f"{p.name}: cannot parse the CSV ({str(e).strip()[:200]}); the file "
                         "may be truncated or not CSV", "unreadable_file") from None
    return CsvText(df, ENCODING_NAMES.get(used, used))


def find_column(columns: list[str], wanted: str | None, candidates: tuple[str, ...],
                what: str) -> str | None:
    """The column named ``wanted`` (error listing the columns if absent), else a candidate."""
    lower = {c.lower(): c for c in columns}
    if wanted:
        if wanted in columns:
            return wanted
        if wanted.lower() in lower:
            return lower[wanted.lower()]
        raise file_error(
            f"{what} field {wanted!r} is not in the file; its columns are: "
            + ", ".join(repr(c) for c in columns), "unknown_column", field=what)
    for c in candidates:
        if c in lower:
            return lower[c]
    return None


def stderr_is_terminal() -> bool:
    """Whether stderr (as it is now: tests and CLI runners replace it) is a terminal."""
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


def progress_on(total: int, enabled: bool | None, min_rows: int = 0) -> bool:
    """Whether a load of ``total`` rows shows progress (see ``Progress``)."""
    return bool(stderr_is_terminal() if enabled is None else enabled) and total >= min_rows


class Progress:
    """Progress of a long load on stderr: a tqdm bar plus one-line stage notes.

    ``enabled``: True shows it (``--progress``), False never, None (the default) when stderr is
    a terminal. Loads smaller than ``min_rows`` stay quiet either way.
    """

    def __init__(self, total: int, desc: str, enabled: bool | None = None, min_rows: int = 0,
                 unit: str = "rows") -> None:
        from tqdm import tqdm

        tty = stderr_is_terminal()
        self.on = progress_on(total, enabled, min_rows)
        self.stream = sys.stderr
        self.t0 = time.perf_counter()
        self.desc = desc
        self.bar = tqdm(total=total, desc=desc, unit=unit, unit_scale=total >= 100_000,
                        file=self.stream,
                        disable=not self.on, leave=True, dynamic_ncols=tty,
                        mininterval=0.2 if tty else 1.0, ascii=not tty)

    def update(self, n: int) -> None:
        """``n`` more rows done."""
        self.bar.update(n)

    def stage(self, message: str) -> None:
        """A one-line note (what the load is doing now, once the bar is full)."""
        if self.on:
            self.bar.write(f"{self.desc}: {message} ({time.perf_counter() - self.t0:.1f}s)",
                           file=self.stream)

    def close(self) -> None:
        """Finish the bar (idempotent)."""
        self.bar.close()
