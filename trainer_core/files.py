"""Read tables that users upload: CSV/TSV/TXT, JSON, JSON Lines, Parquet and Excel.

``read_table`` is meant to "simply work" on what spreadsheets and scripts really write (a UTF-8 BOM,
Windows-1252 text, semicolons or tabs instead of commas, quoted fields spanning lines) and to refuse
everything else with an ``InputError`` that names the file, says what was found and what to do.
Error messages never quote the file's content. Nothing here touches the network.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from trainer_core.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_MAX_BYTES", "FORMATS", "SUPPORTED_SUFFIXES", "format_names", "read_table"]

_MIB = 1024 * 1024

DEFAULT_MAX_BYTES: int = 200 * _MIB
"""Largest file ``read_table`` accepts by default (200 MiB)."""

_JSON_SUFFIXES = (".json", ".jsonl")

_SNIFF_CHARS = 32 * 1024
_DELIMITERS = ",;\t|"
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

# Leading bytes of common non-table files, and how to describe them to the user.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook is one)"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office 97-2003 file (for example an Excel .xls workbook)"),
    (b"PAR1", "a Parquet file"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"RIFF", "a media file (RIFF: WAV, AVI or WebP)"),
)

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def read_table(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES, max_rows: int | None = None) -> pd.DataFrame:
    """Read a user-supplied table into a DataFrame, with columns as they are in the file.

    With ``max_rows``, only the first ``max_rows`` data rows are returned and, for delimited text,
    JSON Lines and Parquet, only as much of the file is read as they need (a preview of a 200 MB CSV
    reads a few MiB). ``frame.attrs["complete"]`` then says whether the whole file was read.

    Supported: ``.csv``, ``.tsv`` and ``.txt`` (delimited text; the separator — comma, semicolon, tab
    or pipe — is detected; UTF-8 with or without BOM, UTF-16, or Windows-1252), ``.json`` (an
    array of records, or JSON Lines), ``.jsonl``, ``.parquet`` and ``.xlsx`` (the first sheet). The
    first row of delimited text and Excel files is the header. Only empty cells are missing values:
    text such as "NA" or "None" is kept as text.

    Raises:
        InputError: the file is missing, empty, has no data rows, is larger than ``max_bytes``, has
            an unsupported extension, or is not a table of the kind its extension says.
    """
    path = Path(path)
    name = path.name or str(path)
    if not path.exists():
        raise InputError(f"File not found: {path}. Check the path, or upload the file again.")
    if not path.is_file():
        raise InputError(f"{name} is a folder, not a file. Choose the data file itself.")

    suffix = path.suffix.lower()
    fmt = FORMAT_BY_SUFFIX.get(suffix)
    if fmt is None:
        found = f"extension {path.suffix!r}" if path.suffix else "no extension"
        raise InputError(
            f"{name} has {found}, which is not a supported table format. "
            f"Supported: {', '.join(SUPPORTED_SUFFIXES)}. Save or export the data as one of these "
            "(CSV UTF-8 is the safest)."
        )

    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(
            f"{name} is {_format_size(size)}, over the {_format_size(max_bytes)} limit. "
            "Use a smaller file, for example a sample of the rows or only the columns you need "
            "(Parquet is much smaller than CSV for the same data)."
        )
    if size == 0:
        raise InputError(f"{name} is empty (0 bytes). Choose a file that contains a header row and data.")

    try:
        with path.open("rb") as f:
            head = f.read(8192)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"{name} could not be opened ({reason}). Check that the file is readable.") from exc

    complete = True
    if max_rows is None:
        frame = fmt.read(path, name, suffix, head)
    else:
        frame, complete = fmt.sample(path, name, suffix, head, max_rows)
    if max_rows is not None and len(frame) > max_rows:
        frame, complete = frame.iloc[:max_rows], False

    if frame.shape[0] == 0:
        if frame.shape[1] == 0:
            raise InputError(f"{name} contains no table: no columns and no rows. Choose a file with data.")
        raise InputError(
            f"{name} has a header ({frame.shape[1]} columns) but no data rows. "
            "Add the rows below the header, or choose the file that contains them."
        )
    frame = _clean_column_names(frame)
    frame.attrs["complete"] = complete
    return frame


# --- helpers ---------------------------------------------------------------------------------

_SAMPLE_START = 1 * _MIB


def _parse_text(data: bytes, name: str, suffix: str) -> pd.DataFrame:
    text = _decode_text(data, name, suffix)
    return _read_json(text, name, suffix) if suffix in _JSON_SUFFIXES else _read_delimited(text, name, suffix)


def _read_text(path: Path, name: str, suffix: str, head: bytes) -> pd.DataFrame:
    return _parse_text(path.read_bytes(), name, suffix)


def _sample_text(path: Path, name: str, suffix: str, head: bytes, max_rows: int) -> tuple[pd.DataFrame, bool]:
    if _can_sample(head, suffix):
        return _read_text_sample(path, name, suffix, path.stat().st_size, max_rows)
    return _parse_text(path.read_bytes(), name, suffix), True  # read_table cuts it to max_rows


def _can_sample(head: bytes, suffix: str) -> bool:
    """Whether the first bytes of the file, cut at a line end, are a table on their own.

    Not for UTF-16 (a newline byte may sit inside a character) nor for a JSON array (one document).
    """
    if head.startswith(_UTF16_BOMS) or b"\x00" in head:
        return False
    return not (suffix in _JSON_SUFFIXES and head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["))


def _read_text_sample(path: Path, name: str, suffix: str, size: int, max_rows: int) -> tuple[pd.DataFrame, bool]:
    """The first rows of a text table, reading a prefix that doubles until it holds ``max_rows`` + 1 rows.

    The prefix is cut after its last line end and the last row parsed from it is dropped, since a quoted
    field may span lines; the work done is at most about twice what the rows need.
    """
    chunk = _SAMPLE_START
    with path.open("rb") as handle:
        while True:
            handle.seek(0)
            data = handle.read(chunk)
            if len(data) >= size:
                return _parse_text(data, name, suffix), True
            cut = data.rfind(b"\n")
            if cut > 0:
                try:
                    frame = _parse_text(data[: cut + 1], name, suffix)
                except InputError:
                    frame = None  # the cut may fall inside a quoted field: read more before judging the file
                if frame is not None and len(frame) > max_rows:
                    return frame.iloc[:max_rows], False
            chunk *= 2


def _format_size(n: int) -> str:
    # Binary units, named as such: 200 * 2**20 bytes is 200 MiB (it would be 209.7 MB).
    if n >= _MIB // 10:
        return f"{n / _MIB:.1f}".rstrip("0").rstrip(".") + " MiB"
    return f"{n / _MIB:.6f}".rstrip("0").rstrip(".") + f" MiB ({n:,} bytes)"


def _signature(head: bytes) -> str | None:
    for magic, description in _SIGNATURES:
        if head.startswith(magic):
            return description
    return None


def _not_text_error(name: str, suffix: str, found: str) -> InputError:
    hint = "Export the data as CSV (UTF-8) or JSON and upload that file."
    if "xlsx" in found or "Excel" in found:
        hint = "If it is an Excel workbook, save it as .xlsx (and name it so) or export it as CSV UTF-8."
    elif "Parquet" in found:
        hint = "If it is a Parquet file, give it the .parquet extension."
    return InputError(f"{name} is not a text table although it is named {suffix}: it looks like {found}. {hint}")


def _decode_text(data: bytes, name: str, suffix: str) -> str:
    """Decode a text file, refusing binary content. UTF-8 first, then Windows-1252 line by line."""
    utf16 = "utf-16" if data.startswith(_UTF16_BOMS) else None
    if utf16 is None and b"\x00" in data[:65536]:
        utf16 = _bomless_utf16_codec(data[:4096])
        if utf16 is None:
            raise _not_text_error(name, suffix, _signature(data[:64]) or "binary data (it contains NUL bytes)")
    if utf16 is not None:
        try:
            text = data.decode(utf16)
        except UnicodeDecodeError as exc:
            raise _not_text_error(name, suffix, "broken UTF-16 text") from exc
    else:
        found = _signature(data[:64])
        if found is not None:
            raise _not_text_error(name, suffix, found)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _decode_mixed(data, name, suffix)
    text = text.removeprefix("\ufeff")

    sample = text[:65536]
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f\v\x1a")
    if controls > max(2, len(sample) // 200):
        raise _not_text_error(name, suffix, "binary data (it contains many control characters)")
    if not text.strip():
        raise InputError(f"{name} contains only whitespace. Choose a file that contains a header row and data.")
    lowered = text.lstrip()[:100].lower()
    if lowered.startswith(("<!doctype html", "<html")):
        raise InputError(
            f"{name} is a web page (HTML), not a table. If you downloaded it from a website or a shared "
            "spreadsheet, use its 'download as CSV' option and upload that file."
        )
    return text


def _bomless_utf16_codec(sample: bytes) -> str | None:
    """The codec of (mostly Latin) UTF-16 text that has no byte-order mark, or None if it is not that."""
    if len(sample) < 8:
        return None
    controls = set(range(0x20)) - {0x09, 0x0A, 0x0D}
    for codec, low_bytes, high_bytes in (
        ("utf-16-le", sample[0::2], sample[1::2]),
        ("utf-16-be", sample[1::2], sample[0::2]),
    ):
        # Latin text: the high byte of most characters is 0 and the low byte is no control character.
        if high_bytes.count(0) >= 0.7 * len(high_bytes) and (
            sum(1 for b in low_bytes if b in controls) <= 0.05 * len(low_bytes)
        ):
            return codec
    return None


def _decode_mixed(data: bytes, name: str, suffix: str) -> str:
    """Decode each line as UTF-8, or as Windows-1252 when it is not UTF-8.

    Handles plain Windows-1252 / Latin-1 files (what Excel writes as "CSV" on Windows) and files put
    together from UTF-8 and Windows-1252 parts.
    """
    lines = data.split(b"\n")
    for i, line in enumerate(lines):
        try:
            lines[i] = line.decode("utf-8")
        except UnicodeDecodeError:
            try:
                lines[i] = line.decode("cp1252")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{name} is not readable text: line {i + 1} is neither UTF-8 nor Windows-1252 "
                    f"(byte 0x{line[exc.start]:02X}). Save the file as CSV UTF-8 and upload it again."
                ) from exc
    return "\n".join(lines)


def _rows_of(sample: str, delimiter: str, truncated: bool) -> list[list[str]]:
    rows = [row for row in csv.reader(io.StringIO(sample), delimiter=delimiter) if row]
    if truncated and len(rows) > 1:
        rows.pop()  # the sample may end inside the last row
    return rows


def _consistency(rows: list[list[str]]) -> float:
    """Fraction of rows as wide as the header, or 0 if the header has a single column."""
    if not rows or len(rows[0]) < 2:
        return 0.0
    width = len(rows[0])
    return sum(1 for row in rows if len(row) == width) / len(rows)


def _guess_delimiter(text: str, suffix: str) -> tuple[str | None, bool]:
    """Return the separator (None for a one-column file) and whether to skip spaces after it."""
    sample = text[:_SNIFF_CHARS]
    truncated = len(text) > len(sample)
    if truncated and "\n" in sample:
        sample = sample[: sample.rindex("\n") + 1]
    default = "\t" if suffix == ".tsv" else ","

    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
    except csv.Error:
        dialect = None
    if dialect is not None and _consistency(_rows_of(sample, dialect.delimiter, truncated)) >= 0.9:
        return dialect.delimiter, bool(dialect.skipinitialspace)

    # The sniffer failed or guessed badly: take the separator that splits the rows most regularly,
    # preferring wider headers and, on a tie, the extension's usual separator. None of them splitting
    # the header means a one-column file.
    best, best_score = None, (0.0, 0, True)
    for candidate in _DELIMITERS:
        rows = _rows_of(sample, candidate, truncated)
        score = (_consistency(rows), len(rows[0]) if rows else 0, candidate == default)
        if score[0] > 0 and score > best_score:
            best, best_score = candidate, score
    return best, False


def _read_delimited(text: str, name: str, suffix: str) -> pd.DataFrame:
    import pandas as pd

    if "\r" in text:
        # Windows (CRLF) and old Mac (CR) line ends, also inside quoted fields.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    delimiter, skip_space = _guess_delimiter(text, suffix)
    if delimiter is None:
        # One column: every line is one field (quoted fields may still span lines), so commas in
        # unquoted text do not split it. Use a separator that does not occur in the text.
        sep = next((c for c in "\x1f\x1e\x1d\x1c\x07" if c not in text), "\x1f")
        kind = "one-column"
    else:
        sep = delimiter
        kind = f"{_DELIMITER_NAMES[delimiter]}-separated"
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            skipinitialspace=skip_space,
            keep_default_na=False,
            na_values=[""],
            low_memory=False,
        )
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{name} has no header row and no data. Choose a file with a table in it.") from exc
    except (pd.errors.ParserError, ValueError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"{name} could not be read as a {kind} table: {detail}. "
            "Every row needs as many fields as the header; fields that contain the separator, quotes or "
            "line breaks must be enclosed in double quotes (spreadsheet programs do this when exporting "
            "CSV)."
        ) from exc
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        # pandas turns the first fields into an index when rows have more fields than the header.
        raise InputError(
            f"{name} could not be read as a {kind} table: some rows have more fields than the header "
            f"({frame.shape[1]} columns). Every row needs as many fields as the header; fields that contain "
            "the separator must be enclosed in double quotes."
        )
    return frame


def _read_json(text: str, name: str, suffix: str) -> pd.DataFrame:
    stripped = text.strip()
    expected = (
        'Expected an array of records, [{"text": "...", "label": 0}, ...], or JSON Lines: one such object per line.'
    )
    if stripped.startswith("["):
        try:
            records = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InputError(f"{name} is not valid JSON ({exc}). {expected}") from exc
        return _records_frame(records, name, expected, line_numbers=False)

    try:
        document = json.loads(stripped)
    except json.JSONDecodeError as exc:
        whole_error = exc
    else:
        if isinstance(document, dict) and suffix == ".jsonl":
            return _records_frame([document], name, expected, line_numbers=True)
        if isinstance(document, dict):
            keys = ", ".join(repr(k) for k in list(document)[:5])
            more = ", ..." if len(document) > 5 else ""
            raise InputError(
                f"{name} holds a single JSON object (keys {keys}{more}), not a list of records. {expected} "
                "If the records are inside one of these keys, save that list on its own."
            )
        raise InputError(f"{name} holds a single JSON {_json_kind(document)}, not records. {expected}")

    # Not one JSON document: try JSON Lines.
    records = []
    for number, line in enumerate(stripped.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if number == 1 and suffix == ".json":
                raise InputError(f"{name} is not valid JSON ({whole_error}). {expected}") from exc
            raise InputError(f"{name}: line {number} is not valid JSON ({exc.msg}). {expected}") from exc
    return _records_frame(records, name, expected, line_numbers=True)


def _json_kind(value: object) -> str:
    kinds = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)


def _records_frame(records: object, name: str, expected: str, *, line_numbers: bool) -> pd.DataFrame:
    import pandas as pd

    if not isinstance(records, list):
        raise InputError(f"{name} does not hold a list of records. {expected}")
    if not records:
        raise InputError(f"{name} holds no records (the list is empty). Add the rows, or choose another file.")
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            where = f"line {index + 1}" if line_numbers else f"item {index + 1} of the array"
            raise InputError(f"{name}: {where} is a JSON {_json_kind(record)}, not an object. {expected}")
    return pd.DataFrame.from_records(records)


def _read_parquet(path: Path, name: str, head: bytes, max_rows: int | None = None) -> tuple[pd.DataFrame, bool]:
    if not head.startswith(b"PAR1"):
        found = _signature(head) or "something else (no Parquet signature at the start)"
        raise InputError(
            f"{name} is not a Parquet file: it looks like {found}. Upload a real Parquet file, or give the "
            "file the extension that matches its content."
        )
    import pandas as pd

    try:
        if max_rows is None:
            return pd.read_parquet(path), True
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        batch = next(parquet.iter_batches(batch_size=max(1, max_rows)), None)
        if batch is None:
            return parquet.schema_arrow.empty_table().to_pandas(), True
        return batch.to_pandas(), parquet.metadata.num_rows <= max_rows
    except Exception as exc:
        raise InputError(
            f"{name} could not be read as Parquet ({type(exc).__name__}: {_first_line(exc)}). The file may "
            "be truncated or damaged: write it again, or export the data as CSV."
        ) from exc


def _read_xlsx(path: Path, name: str, head: bytes, max_rows: int | None = None) -> pd.DataFrame:
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise InputError(
            f"{name} is an old Excel 97-2003 workbook (.xls format) with an .xlsx name. Open it in a "
            "spreadsheet program and save it as .xlsx (Excel Workbook) or as CSV UTF-8."
        )
    if not head.startswith(b"PK\x03\x04"):
        found = _signature(head) or "a text file or other non-Excel data"
        raise InputError(
            f"{name} is not an Excel workbook: it looks like {found}. If it is a CSV file, give it the "
            ".csv extension; otherwise save it from Excel as .xlsx."
        )
    import pandas as pd

    try:
        # One row more than asked, so the caller can tell whether the sheet has more.
        return pd.read_excel(
            path,
            sheet_name=0,
            engine="openpyxl",
            keep_default_na=False,
            na_values=[""],
            nrows=None if max_rows is None else max_rows + 1,
        )
    except Exception as exc:
        raise InputError(
            f"{name} could not be read as an Excel workbook ({type(exc).__name__}: {_first_line(exc)}). "
            "Open it in a spreadsheet program and save it again as .xlsx, or export the sheet as CSV UTF-8."
        ) from exc


# --- the formats ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FileFormat:
    """One table format: what it is called in messages, its file name extensions and its two readers.

    ``read(path, name, suffix, head)`` reads the whole file; ``sample(path, name, suffix, head, max_rows)``
    reads its first rows (as little of the file as they need, where the format allows) and says whether
    that was the whole file. ``head`` is the file's first 8 KiB, for signature checks.
    """

    label: str
    suffixes: tuple[str, ...]
    read: Callable[[Path, str, str, bytes], pd.DataFrame]
    sample: Callable[[Path, str, str, bytes, int], tuple[pd.DataFrame, bool]]


def _parquet_whole(path: Path, name: str, suffix: str, head: bytes) -> pd.DataFrame:
    return _read_parquet(path, name, head)[0]


def _parquet_sample(path: Path, name: str, suffix: str, head: bytes, max_rows: int) -> tuple[pd.DataFrame, bool]:
    return _read_parquet(path, name, head, max_rows)


def _xlsx_whole(path: Path, name: str, suffix: str, head: bytes) -> pd.DataFrame:
    return _read_xlsx(path, name, head)


def _xlsx_sample(path: Path, name: str, suffix: str, head: bytes, max_rows: int) -> tuple[pd.DataFrame, bool]:
    return _read_xlsx(path, name, head, max_rows), True  # read_table cuts the extra row and says so


# The one list of formats: the upload check, the file pickers, the data loader and the help texts read it.
FORMATS: tuple[FileFormat, ...] = (
    FileFormat("CSV", (".csv",), _read_text, _sample_text),
    FileFormat("TSV", (".tsv", ".txt"), _read_text, _sample_text),
    FileFormat("JSON", (".json",), _read_text, _sample_text),
    FileFormat("JSONL", (".jsonl",), _read_text, _sample_text),
    FileFormat("Parquet", (".parquet",), _parquet_whole, _parquet_sample),
    FileFormat("XLSX", (".xlsx",), _xlsx_whole, _xlsx_sample),
)
FORMAT_BY_SUFFIX: dict[str, FileFormat] = {suffix: fmt for fmt in FORMATS for suffix in fmt.suffixes}
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(FORMAT_BY_SUFFIX)
"""File name extensions ``read_table`` reads (compared case-insensitively)."""


def format_names(last: str = "or") -> str:
    """The formats as a message names them: 'CSV, TSV, JSON, JSONL, Parquet or XLSX'."""
    labels = [fmt.label for fmt in FORMATS]
    return f"{', '.join(labels[:-1])} {last} {labels[-1]}" if len(labels) > 1 else labels[0]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else "no details"


def _clean_column_names(frame: pd.DataFrame) -> pd.DataFrame:
    """Strip spaces (and a stray BOM) around column names, unless that would make two names equal."""
    names = [c.strip().lstrip("\ufeff").strip() if isinstance(c, str) else c for c in frame.columns]
    if len(set(names)) == len(names):
        frame.columns = names
    return frame
