"""trainer_core.ui.uploads: uploaded files stay inside the visitor's folder under safe names."""

from __future__ import annotations

import os

import pytest

from trainer_core.errors import InputError
from trainer_core.ui import uploads


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("reviews.csv", "reviews.csv"),
        ("../../etc/passwd.csv", "passwd.csv"),
        ("C:\\Users\\me\\My Data.XLSX", "My_Data.xlsx"),
        ("..hidden.json", "hidden.json"),
        ("a\x00b.parquet", "ab.parquet"),
        ("$$$.tsv", "upload.tsv"),
        ("x" * 300 + ".jsonl", "x" * 80 + ".jsonl"),
    ],
)
def test_only_a_safe_last_component_of_the_browsers_name_is_kept(given, stored):
    assert uploads.sanitize_upload_name(given) == stored


@pytest.mark.parametrize("name", ["model.pkl", "script.py", "noextension", None])
def test_a_type_that_cannot_be_read_is_refused_with_the_types_that_can(name):
    with pytest.raises(InputError, match="upload a csv, tsv") as caught:
        uploads.sanitize_upload_name(name)
    assert "Cannot use a file with" in str(caught.value)


def test_an_upload_is_copied_in_under_its_safe_name_and_a_same_named_one_replaced(tmp_path):
    source = tmp_path / "tmp-gradio-123"
    source.write_text("text,label\nhi,1\n")
    folder = tmp_path / "visitor"
    assert uploads.store_upload(source, folder, "../My Reviews.CSV") == "My_Reviews.csv"
    source.write_text("text,label\nbye,0\n")
    uploads.store_upload(source, folder, "My Reviews.csv")
    assert (folder / "My_Reviews.csv").read_text() == "text,label\nbye,0\n"
    assert uploads.list_uploads(folder) == ["My_Reviews.csv"]
    assert not [p for p in folder.iterdir() if p.name.endswith(".part")]


def test_a_missing_upload_is_said_to_have_not_arrived(tmp_path):
    with pytest.raises(InputError, match="did not arrive"):
        uploads.store_upload(tmp_path / "gone.csv", tmp_path / "visitor")


def test_only_the_newest_uploads_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_UPLOADS_PER_VISITOR", 3)
    folder = tmp_path / "visitor"
    for i in range(5):
        source = tmp_path / f"f{i}.csv"
        source.write_text("text,label\nhi,1\n")
        uploads.store_upload(source, folder)
        os.utime(folder / source.name, (1000 + i, 1000 + i))  # distinct times, newest last
    assert uploads.list_uploads(folder) == ["f4.csv", "f3.csv", "f2.csv"]


def test_an_upload_larger_than_the_limit_is_refused_before_copying(tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "DEFAULT_MAX_BYTES", 10)
    source = tmp_path / "big.csv"
    source.write_text("text,label\n" + "word," * 10)
    with pytest.raises(InputError, match="Put a large dataset on the Hub"):
        uploads.store_upload(source, tmp_path / "visitor")
    assert not (tmp_path / "visitor").exists()


def test_a_stored_upload_is_found_by_its_plain_name_only(tmp_path):
    folder = tmp_path / "visitor"
    folder.mkdir()
    (folder / "data.csv").write_text("text,label\n")
    (tmp_path / "secret.csv").write_text("x")
    assert uploads.upload_path(folder, "data.csv") == folder / "data.csv"
    for name in ("../secret.csv", "/etc/passwd", "other.csv"):
        with pytest.raises(InputError, match="No upload called"):
            uploads.upload_path(folder, name)
    with pytest.raises(InputError, match="No uploaded file chosen"):
        uploads.upload_path(folder, "  ")
