"""read_table on the files users really upload, and on the ones it must refuse."""

from __future__ import annotations

import json
import zipfile

import pandas as pd
import pytest

from trainer_core.errors import InputError
from trainer_core.files import DEFAULT_MAX_BYTES, SUPPORTED_SUFFIXES, read_table

ROWS = [("café crème, très bon", 1), ("naïve; but fine", 0), ("€5 “deal”", 1)]


def _delimited(rows, sep: str, header=("text", "label")) -> str:
    lines = [sep.join(header)]
    for text, label in rows:
        quoted = '"' + text.replace('"', '""') + '"' if any(c in text for c in f'{sep}"\n') else text
        lines.append(f"{quoted}{sep}{label}")
    return "\r\n".join(lines) + "\r\n"


def _assert_rows(frame: pd.DataFrame, rows=ROWS) -> None:
    assert list(frame.columns) == ["text", "label"]
    assert frame["text"].tolist() == [text for text, _ in rows]
    assert frame["label"].tolist() == [label for _, label in rows]
    assert pd.api.types.is_integer_dtype(frame["label"])


def test_constants():
    assert DEFAULT_MAX_BYTES == 200 * 1024 * 1024
    assert set(SUPPORTED_SUFFIXES) == {".csv", ".tsv", ".txt", ".json", ".jsonl", ".parquet", ".xlsx"}


# --- delimited text: must simply work --------------------------------------------------------


def test_utf8_csv(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(_delimited(ROWS, ",").encode("utf-8"))
    _assert_rows(read_table(path))


def test_utf8_bom_is_stripped_from_first_column(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + _delimited(ROWS, ",").encode("utf-8"))
    frame = read_table(path)
    assert frame.columns[0] == "text"
    _assert_rows(frame)


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_windows_1252_and_latin1(tmp_path, encoding):
    rows = [("café crème, très bon", 1), ("naïve; but fine", 0), ("déjà vu", 0)]
    path = tmp_path / "windows.csv"
    path.write_bytes(_delimited(rows, ";").encode(encoding))
    _assert_rows(read_table(path), rows)


def test_cp1252_specific_characters(tmp_path):
    path = tmp_path / "quotes.csv"
    path.write_bytes(_delimited(ROWS, ",").encode("cp1252"))  # “ ” and € are cp1252-only bytes
    _assert_rows(read_table(path))


def test_mixed_utf8_and_cp1252_lines(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes("text,label\ncafé,1\n".encode() + "naïve,0\n".encode("cp1252"))
    frame = read_table(path)
    assert frame["text"].tolist() == ["café", "naïve"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_or_without_bom(tmp_path, encoding):
    path = tmp_path / "unicode.txt"
    path.write_bytes(_delimited(ROWS, "\t").encode(encoding))
    _assert_rows(read_table(path))


def test_old_mac_line_ends(tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(b"text,label\rhello,1\rbye,0\r")
    assert read_table(path).to_dict("list") == {"text": ["hello", "bye"], "label": [1, 0]}


@pytest.mark.parametrize(
    ("sep", "suffix"),
    [(",", ".csv"), (";", ".csv"), ("\t", ".csv"), ("|", ".csv"), ("\t", ".tsv"), (";", ".txt"), (",", ".tsv")],
)
def test_separators_are_detected(tmp_path, sep, suffix):
    path = tmp_path / f"data{suffix}"
    path.write_bytes(_delimited(ROWS, sep).encode("utf-8"))
    _assert_rows(read_table(path))


def test_quoted_fields_with_newlines_and_separators(tmp_path):
    rows = [("line one\nline two, with a comma", 1), ('she said "hi"', 0), ("plain", 1)]
    path = tmp_path / "multiline.csv"
    path.write_bytes(_delimited(rows, ",").encode("utf-8"))
    _assert_rows(read_table(path), rows)


def test_large_file_separator_detection_uses_a_sample(tmp_path):
    rows = [(f"review number {i}; with a semicolon", i % 3) for i in range(5000)]
    path = tmp_path / "big.tsv"
    path.write_bytes(_delimited(rows, "\t").encode("utf-8"))
    frame = read_table(path)
    assert frame.shape == (5000, 2)
    assert frame["text"].iloc[-1] == "review number 4999; with a semicolon"


def test_text_columns_stay_text_and_int_labels_stay_int(tmp_path):
    path = tmp_path / "types.csv"
    path.write_text("id,text,label,score\n007,NA,2,0.5\n010,None,0,\n12,hello,1,1.5\n", encoding="utf-8")
    frame = read_table(path)
    assert frame["text"].tolist() == ["NA", "None", "hello"]  # words are not missing values
    assert frame["label"].tolist() == [2, 0, 1]
    assert pd.api.types.is_integer_dtype(frame["label"])
    assert pd.isna(frame["score"].iloc[1])  # an empty cell is missing


def test_one_column_file_with_commas_in_text(tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("text\nhello, world\nbye\n", encoding="utf-8")
    frame = read_table(path)
    assert list(frame.columns) == ["text"]
    assert frame["text"].tolist() == ["hello, world", "bye"]


def test_spaces_after_separator(tmp_path):
    path = tmp_path / "spaced.csv"
    path.write_text("text, label\nhello world, 1\nbye, 0\n", encoding="utf-8")
    frame = read_table(path)
    assert list(frame.columns) == ["text", "label"]
    assert frame["label"].tolist() == [1, 0]


def test_uppercase_suffix_and_str_path(tmp_path):
    path = tmp_path / "DATA.CSV"
    path.write_bytes(_delimited(ROWS, ",").encode("utf-8"))
    _assert_rows(read_table(str(path)))


def test_rows_wider_than_header_are_refused(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2,3\n4,5,6\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"ragged\.csv.*more fields than the header"):
        read_table(path)


def test_inconsistent_rows_are_refused(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("a,b\n1,2\n3,4,5\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"broken\.csv.*double quotes"):
        read_table(path)


# --- JSON, Parquet, Excel --------------------------------------------------------------------


def test_json_array_of_records(tmp_path):
    path = tmp_path / "data.json"
    path.write_text(json.dumps([{"text": t, "label": lab} for t, lab in ROWS]), encoding="utf-8")
    _assert_rows(read_table(path))


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_json_lines(tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    lines = [json.dumps({"text": t, "label": lab}, ensure_ascii=False) for t, lab in ROWS]
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    _assert_rows(read_table(path))


def test_jsonl_with_a_single_record(tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_text('{"text": "only", "label": 1}\n', encoding="utf-8")
    assert read_table(path).to_dict("records") == [{"text": "only", "label": 1}]


def test_json_object_is_not_records(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"data": [{"text": "a", "label": 1}], "version": 2}), encoding="utf-8")
    with pytest.raises(InputError, match=r"config\.json holds a single JSON object.*'data'.*array of records"):
        read_table(path)


def test_json_array_of_scalars_is_refused(tmp_path):
    path = tmp_path / "numbers.json"
    path.write_text("[1, 2, 3]", encoding="utf-8")
    with pytest.raises(InputError, match=r"numbers\.json: item 1 of the array is a JSON number, not an object"):
        read_table(path)


def test_jsonl_bad_line_is_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a", "label": 1}\n{"text": "b", "label": \n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.jsonl: line 2 is not valid JSON"):
        read_table(path)


def test_json_null_is_refused(tmp_path):
    path = tmp_path / "null.json"
    path.write_text("null", encoding="utf-8")
    with pytest.raises(InputError, match=r"null\.json holds a single JSON null, not records"):
        read_table(path)


def test_invalid_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("[{'text': 'single quotes'}]", encoding="utf-8")
    with pytest.raises(InputError, match=r"broken\.json is not valid JSON"):
        read_table(path)


def test_empty_json_array(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(InputError, match=r"empty\.json holds no records"):
        read_table(path)


def test_parquet(tmp_path):
    path = tmp_path / "data.parquet"
    pd.DataFrame({"text": [t for t, _ in ROWS], "label": [lab for _, lab in ROWS]}).to_parquet(path)
    _assert_rows(read_table(path))


def test_truncated_parquet(tmp_path):
    good = tmp_path / "good.parquet"
    pd.DataFrame({"text": ["a"] * 100, "label": [1] * 100}).to_parquet(good)
    path = tmp_path / "cut.parquet"
    path.write_bytes(good.read_bytes()[:-40])
    with pytest.raises(InputError, match=r"cut\.parquet could not be read as Parquet"):
        read_table(path)


def test_csv_named_parquet(tmp_path):
    path = tmp_path / "data.parquet"
    path.write_text("text,label\na,1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"data\.parquet is not a Parquet file"):
        read_table(path)


def test_xlsx_first_sheet(tmp_path):
    path = tmp_path / "data.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"text": [t for t, _ in ROWS], "label": [lab for _, lab in ROWS]}).to_excel(
            writer, sheet_name="train", index=False
        )
        pd.DataFrame({"other": [1]}).to_excel(writer, sheet_name="notes", index=False)
    _assert_rows(read_table(path))


def test_xlsx_header_only(tmp_path):
    path = tmp_path / "header.xlsx"
    pd.DataFrame({"text": [], "label": []}).to_excel(path, index=False, engine="openpyxl")
    with pytest.raises(InputError, match=r"header\.xlsx has a header \(2 columns\) but no data rows"):
        read_table(path)


def test_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "fake.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    with pytest.raises(InputError, match=r"fake\.xlsx could not be read as an Excel workbook"):
        read_table(path)


def test_xls_named_xlsx(tmp_path):
    path = tmp_path / "old.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with pytest.raises(InputError, match=r"old\.xlsx is an old Excel 97-2003 workbook"):
        read_table(path)


def test_csv_named_xlsx(tmp_path):
    path = tmp_path / "really.xlsx"
    path.write_text("text,label\na,1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"really\.xlsx is not an Excel workbook.*\.csv extension"):
        read_table(path)


# --- refusals --------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"File not found: .*nothere\.csv"):
        read_table(tmp_path / "nothere.csv")


def test_folder(tmp_path):
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(InputError, match=r"folder\.csv is a folder"):
        read_table(folder)


@pytest.mark.parametrize("suffix", [".csv", ".json", ".parquet", ".xlsx"])
def test_zero_bytes(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=rf"empty\{suffix} is empty \(0 bytes\)"):
        read_table(path)


def test_only_whitespace(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_bytes(b" \r\n\t\n\n")
    with pytest.raises(InputError, match=r"blank\.csv contains only whitespace"):
        read_table(path)


@pytest.mark.parametrize("content", [b"text,label\n", b"\xef\xbb\xbftext;label\r\n\r\n", b"text,label"])
def test_header_only(tmp_path, content):
    path = tmp_path / "header.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"header\.csv has a header \(2 columns\) but no data rows"):
        read_table(path)


@pytest.mark.parametrize(
    ("magic", "found"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "a JPEG image"),
        (b"%PDF-1.7\n", "a PDF document"),
        (b"PK\x03\x04\x14\x00\x06\x00", "a zip archive"),
    ],
)
def test_binary_file_named_csv(tmp_path, magic, found):
    path = tmp_path / "photo.csv"
    path.write_bytes(magic + bytes(range(256)) * 4)
    with pytest.raises(InputError, match=rf"photo\.csv is not a text table .* it looks like {found}") as info:
        read_table(path)
    assert "IHDR" not in str(info.value)  # no file content in the message


def test_real_xlsx_named_csv_says_what_to_do(tmp_path):
    path = tmp_path / "export.csv"
    pd.DataFrame({"text": ["a"], "label": [1]}).to_excel(path, index=False, engine="openpyxl")
    with pytest.raises(InputError, match=r"export\.csv .*Excel.*CSV UTF-8"):
        read_table(path)


def test_nul_bytes(tmp_path):
    path = tmp_path / "junk.csv"
    path.write_bytes(b"text,label\nabc\x00\x00def,1\n")
    with pytest.raises(InputError, match=r"junk\.csv is not a text table.*NUL bytes"):
        read_table(path)


def test_control_character_junk(tmp_path):
    path = tmp_path / "junk.txt"
    path.write_bytes(bytes([1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 16, 65, 66, 67]) * 50)
    with pytest.raises(InputError, match=r"junk\.txt is not a text table.*control characters"):
        read_table(path)


def test_undecodable_bytes(tmp_path):
    path = tmp_path / "weird.csv"
    # 0x81 is undefined in Windows-1252 and invalid as UTF-8 here.
    path.write_bytes(b"text,label\nabc\x81def,1\n")
    with pytest.raises(InputError, match=r"weird\.csv is not readable text: line 2 .*0x81.*CSV UTF-8"):
        read_table(path)


def test_html_page_named_csv(tmp_path):
    path = tmp_path / "download.csv"
    path.write_text("<!DOCTYPE html>\n<html><body>Sign in</body></html>\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"download\.csv is a web page \(HTML\)") as info:
        read_table(path)
    assert "Sign in" not in str(info.value)


def test_over_the_size_limit(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_bytes(b"text,label\n" + b"some text,1\n" * 140_000)  # about 1.6 MiB
    with pytest.raises(InputError, match=r"huge\.csv is 1\.6 MiB, over the 1 MiB limit") as info:
        read_table(path, max_bytes=1024 * 1024)
    assert "smaller file" in str(info.value)


def test_over_a_tiny_size_limit(tmp_path):
    path = tmp_path / "small.csv"
    path.write_bytes(b"text,label\nhello,1\n")
    with pytest.raises(
        InputError, match=r"small\.csv is [0-9.]+ MiB \(19 bytes\), over the [0-9.]+ MiB \(10 bytes\) limit"
    ):
        read_table(path, max_bytes=10)
    assert read_table(path, max_bytes=19).shape == (1, 2)


@pytest.mark.parametrize("name", ["data.xls", "data.docx", "data", "data.csv.gz"])
def test_unknown_suffix_lists_supported(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"text,label\na,1\n")
    with pytest.raises(InputError, match="not a supported table format") as info:
        read_table(path)
    message = str(info.value)
    assert name in message
    for suffix in SUPPORTED_SUFFIXES:
        assert suffix in message


def test_input_error_is_a_value_error(tmp_path):
    with pytest.raises(ValueError):
        read_table(tmp_path / "missing.csv")


# ------------------------------------------------------------------------------- reading a sample


def big_csv(path, rows: int):
    lines = ["text,label"] + [f'"review {i}, with a comma",{i % 3}' for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_max_rows_reads_only_a_prefix_of_a_big_file(tmp_path, monkeypatch):
    import trainer_core.files as files

    path = big_csv(tmp_path / "big.csv", 200_000)  # about 6 MiB
    parsed = []
    real = files._parse_text
    monkeypatch.setattr(files, "_parse_text", lambda data, *a: parsed.append(len(data)) or real(data, *a))
    frame = read_table(path, max_rows=100)
    assert frame.shape == (100, 2)
    assert frame["text"].iloc[99] == "review 99, with a comma"
    assert frame.attrs["complete"] is False
    assert max(parsed) <= files._SAMPLE_START < path.stat().st_size / 4


def test_max_rows_on_a_small_file_reads_it_all(tmp_path):
    path = big_csv(tmp_path / "small.csv", 10)
    frame = read_table(path, max_rows=100)
    assert frame.shape == (10, 2) and frame.attrs["complete"] is True
    assert read_table(path).attrs["complete"] is True


def test_a_sample_cut_inside_a_quoted_multiline_field_reads_on(tmp_path, monkeypatch):
    import trainer_core.files as files

    monkeypatch.setattr(files, "_SAMPLE_START", 64)
    body = "".join(f'"line one of {i}\nline two of {i}",{i % 2}\n' for i in range(40))
    path = tmp_path / "multi.csv"
    path.write_text("text,label\n" + body, encoding="utf-8")
    frame = read_table(path, max_rows=5)
    assert list(frame["text"]) == [f"line one of {i}\nline two of {i}" for i in range(5)]
    assert frame.attrs["complete"] is False


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_max_rows_of_json_lines_and_arrays(tmp_path, suffix):
    records = [{"text": f"t{i}", "label": i % 2} for i in range(50)]
    path = tmp_path / f"data{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(records), encoding="utf-8")
    else:
        path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    frame = read_table(path, max_rows=7)
    assert list(frame["text"]) == [f"t{i}" for i in range(7)]
    assert frame.attrs["complete"] is False


def test_max_rows_of_parquet_and_xlsx(tmp_path):
    source = pd.DataFrame({"text": [f"t{i}" for i in range(30)], "label": [i % 2 for i in range(30)]})
    source.to_parquet(tmp_path / "d.parquet")
    source.to_excel(tmp_path / "d.xlsx", index=False)
    for name in ("d.parquet", "d.xlsx"):
        frame = read_table(tmp_path / name, max_rows=4)
        assert list(frame["text"]) == ["t0", "t1", "t2", "t3"], name
        assert frame.attrs["complete"] is False
        assert read_table(tmp_path / name, max_rows=30).attrs["complete"] is True


def test_a_nearly_full_disk_is_reported_in_mib(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    from trainer_core import training

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(2**40, 2**40 - 50 * 2**20, 50 * 2**20))
    with pytest.raises(InputError, match=r"Only 50 MiB free on the disk"):
        training._check_output_dir(tmp_path / "out")


# --- the format table: one entry is all a new format needs -------------------------------------

TABLE = pd.DataFrame({"text": ["good film", "dull plot", "fine, I guess"], "label": ["pos", "neg", "pos"]})

# How a test writes each format (a new FORMATS entry needs one line here, and nothing elsewhere).
_WRITERS = {
    "CSV": lambda frame, path: frame.to_csv(path, index=False),
    "TSV": lambda frame, path: frame.to_csv(path, index=False, sep="\t"),
    "JSON": lambda frame, path: frame.to_json(path, orient="records"),
    "JSONL": lambda frame, path: frame.to_json(path, orient="records", lines=True),
    "Parquet": lambda frame, path: frame.to_parquet(path, index=False),
    "XLSX": lambda frame, path: frame.to_excel(path, index=False),
}


def _format_cases():
    from trainer_core.files import FORMATS

    return [pytest.param(fmt, suffix, id=suffix) for fmt in FORMATS for suffix in fmt.suffixes]


@pytest.mark.parametrize(("fmt", "suffix"), _format_cases())
def test_every_format_round_trips_whole_and_sampled(tmp_path, fmt, suffix):
    assert fmt.label in _WRITERS, f"add a writer for {fmt.label} to _WRITERS"
    path = tmp_path / f"data{suffix}"
    _WRITERS[fmt.label](TABLE, path)
    whole = read_table(path)
    assert whole.to_dict("list") == TABLE.to_dict("list")
    assert whole.attrs["complete"] is True
    first = read_table(path, max_rows=2)
    assert first.to_dict("list") == TABLE.iloc[:2].to_dict("list")
    assert first.attrs["complete"] is False


@pytest.mark.parametrize(("fmt", "suffix"), _format_cases())
def test_upload_check_and_data_loader_follow_the_table(tmp_path, fmt, suffix):
    from trainer_core import data as data_lib
    from trainer_core.ui.uploads import sanitize_upload_name

    assert sanitize_upload_name(f"My Data{suffix.upper()}") == f"My_Data{suffix}"
    path = tmp_path / f"data{suffix}"
    _WRITERS[fmt.label](TABLE, path)
    assert data_lib.is_local_file(str(path))
    assert data_lib.load_local(path)["train"]["text"] == TABLE["text"].tolist()
    sizes, sample = data_lib.sample_local(path, 1)
    assert sizes == {"train": None} and sample["label"] == ["pos"]


def test_help_texts_and_refusals_name_the_table():
    from trainer_core.config import DataConfig, field_help
    from trainer_core.files import FORMATS, format_names
    from trainer_core.ui.uploads import sanitize_upload_name, upload_path

    names = format_names()
    assert names == "CSV, TSV, JSON, JSONL, Parquet or XLSX"
    assert all(fmt.label in names for fmt in FORMATS)
    assert names in field_help(DataConfig, "dataset")
    assert tuple(s for fmt in FORMATS for s in fmt.suffixes) == SUPPORTED_SUFFIXES
    with pytest.raises(InputError, match=names):
        upload_path("/nowhere", None)
    with pytest.raises(InputError) as refused:
        sanitize_upload_name("old.xls")
    assert all(s.lstrip(".") in str(refused.value) for s in SUPPORTED_SUFFIXES)


def test_an_unlisted_suffix_is_refused_with_the_table(tmp_path):
    path = tmp_path / "data.xls"
    path.write_bytes(b"whatever")
    with pytest.raises(InputError, match=r"Supported: \.csv, \.tsv, \.txt, \.json, \.jsonl, \.parquet, \.xlsx\."):
        read_table(path)
