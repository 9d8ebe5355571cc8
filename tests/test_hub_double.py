"""The hub double (tests/hub_double.py) driven through the real clients: huggingface_hub, transformers, datasets."""

import io
import threading
import time
from pathlib import Path

import httpx2
import pandas as pd
import pytest
import torch
from huggingface_hub import HfApi, HfFileSystem, hf_hub_download, snapshot_download
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

ALICE = "hf_alice_write_token"
BOB = "hf_bob_read_token"


def tiny_bert():
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(
        vocab_size=100, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    return BertForSequenceClassification(config)


@pytest.fixture
def api():
    return HfApi()


@pytest.fixture
def csv_dataset(hub, api):
    api.create_repo("alice/tiny-ds", repo_type="dataset", token=ALICE)
    api.upload_file(
        path_or_fileobj=b"text,label\ngood movie,1\nbad movie,0\nfine,1\n",
        path_in_repo="train.csv",
        repo_id="alice/tiny-ds",
        repo_type="dataset",
        token=ALICE,
    )
    api.upload_file(
        path_or_fileobj=b"text,label\nmeh,0\n",
        path_in_repo="test.csv",
        repo_id="alice/tiny-ds",
        repo_type="dataset",
        token=ALICE,
    )
    return "alice/tiny-ds"


# --------------------------------------------------------------------------------------------------------------
# whoami / create_repo
# --------------------------------------------------------------------------------------------------------------


def test_whoami_write_and_read_tokens(hub, api):
    me = api.whoami(token=ALICE)
    assert me["name"] == "alice"
    assert me["auth"] == {
        "type": "access_token",
        "accessToken": {
            "displayName": "alice-write",
            "role": "write",
            "createdAt": me["auth"]["accessToken"]["createdAt"],
        },
    }
    assert me["orgs"] == []
    assert api.whoami(token=BOB)["auth"]["accessToken"]["role"] == "read"


def test_whoami_unknown_token_is_401(hub, api):
    with pytest.raises(HfHubHTTPError) as err:
        api.whoami(token="hf_nope")
    assert err.value.response.status_code == 401
    assert err.value.response.json() == {"error": "Invalid credentials in Authorization header"}


def test_whoami_without_token_is_401(hub):
    response = httpx2.get(f"{hub.url}/api/whoami-v2")
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid credentials in Authorization header"}


def test_orgs_of_a_user(hub, api):
    hub.add_user("carol", token="hf_carol", orgs=["acme"])
    assert [org["name"] for org in api.whoami(token="hf_carol")["orgs"]] == ["acme"]
    url = api.create_repo("acme/model", token="hf_carol")
    assert url.repo_id == "acme/model"
    assert hub.repo_exists("acme/model")


def test_a_read_role_in_an_org_sees_but_cannot_create(hub, api):
    hub.add_user("dave", token="hf_dave", read_orgs=["acme"])
    assert [(o["name"], o["roleInOrg"]) for o in api.whoami(token="hf_dave")["orgs"]] == [("acme", "read")]
    with pytest.raises(HfHubHTTPError) as caught:
        api.create_repo("acme/model", token="hf_dave")
    assert caught.value.response.status_code == 403
    hub.create_repo("acme/private", private=True)
    assert api.model_info("acme/private", token="hf_dave").id == "acme/private"


def test_create_repo(hub, api):
    url = api.create_repo("alice/new", token=ALICE)
    assert url.repo_id == "alice/new"
    assert url.startswith(hub.url)
    assert hub.repo_exists("alice/new")
    assert not hub.is_private("alice/new")
    assert hub.files("alice/new") == {".gitattributes": hub.files("alice/new")[".gitattributes"]}
    assert hub.commits("alice/new") == ["initial commit"]

    ds_url = api.create_repo("alice/new-ds", repo_type="dataset", private=True, token=ALICE)
    assert ds_url.repo_type == "dataset"
    assert hub.repo_exists("alice/new-ds", repo_type="dataset")
    assert hub.is_private("alice/new-ds", repo_type="dataset")
    assert not hub.repo_exists("alice/new-ds")  # a model repo of that name does not exist


def test_create_repo_namespace_defaults_to_the_token_user(hub, api):
    assert api.create_repo("solo", token=ALICE).repo_id == "alice/solo"


def test_create_repo_exist_ok(hub, api):
    api.create_repo("alice/dup", token=ALICE)
    assert api.create_repo("alice/dup", token=ALICE, exist_ok=True).repo_id == "alice/dup"
    with pytest.raises(HfHubHTTPError) as err:
        api.create_repo("alice/dup", token=ALICE)
    assert err.value.response.status_code == 409


def test_create_repo_401_403(hub, api):
    with pytest.raises(HfHubHTTPError) as err:
        api.create_repo("alice/x", token="hf_invalid")
    assert err.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as err:  # bob's token is read-only
        api.create_repo("bob/x", token=BOB)
    assert err.value.response.status_code == 403
    hub.add_token("bob", "hf_bob_write", write=True)
    with pytest.raises(HfHubHTTPError) as err:  # not bob's namespace
        api.create_repo("alice/x", token="hf_bob_write", exist_ok=True)
    assert err.value.response.status_code == 403
    assert api.create_repo("bob/x", token="hf_bob_write").repo_id == "bob/x"
    assert not hub.repo_exists("alice/x")


# --------------------------------------------------------------------------------------------------------------
# Uploads (upload_folder / upload_file / create_commit / push_to_hub) and downloads
# --------------------------------------------------------------------------------------------------------------


def test_upload_folder_of_a_saved_model(hub, api, tmp_path):
    tiny_bert().save_pretrained(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "notes.txt").write_text("hello")
    api.create_repo("alice/folder", token=ALICE)
    info = api.upload_folder(folder_path=tmp_path, repo_id="alice/folder", token=ALICE, commit_message="Add model")

    files = hub.files("alice/folder")
    local = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert {k: v for k, v in files.items() if k != ".gitattributes"} == local
    assert hub.commits("alice/folder") == ["initial commit", "Add model"]
    assert info.oid == hub.head("alice/folder")
    assert len(info.oid) == 40
    assert hub.requests_to("preupload")[-1].status == 200
    assert sorted(api.list_repo_files("alice/folder")) == sorted([".gitattributes", *local])

    # Unchanged files are skipped by the client (preupload reports their oid); deletions go through.
    api.upload_folder(
        folder_path=tmp_path,
        repo_id="alice/folder",
        token=ALICE,
        allow_patterns=["config.json"],
        delete_patterns=["sub/*"],
        commit_message="Drop notes",
    )
    assert "sub/notes.txt" not in hub.files("alice/folder")
    assert hub.commits("alice/folder")[-1] == "Drop notes"


def test_push_to_hub_and_from_pretrained_roundtrip(hub):
    from transformers import AutoModelForSequenceClassification

    model = tiny_bert()
    model.push_to_hub("alice/tiny", token=ALICE)
    assert "model.safetensors" in hub.files("alice/tiny")
    assert "config.json" in hub.files("alice/tiny")
    assert hub.commits("alice/tiny")[-1] == "Upload BertForSequenceClassification"

    loaded = AutoModelForSequenceClassification.from_pretrained("alice/tiny")
    expected = model.state_dict()
    got = loaded.state_dict()
    assert expected.keys() == got.keys()
    for name, tensor in expected.items():
        assert torch.equal(tensor, got[name]), name
    resolves = hub.requests_to("resolve", "GET")
    assert any(r.path.endswith("/model.safetensors") for r in resolves)


def test_tokenizer_roundtrip(hub, tmp_path):
    from transformers import AutoTokenizer, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "movie"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab))
    tokenizer = BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt"))
    tokenizer.push_to_hub("alice/tok", token=ALICE)
    loaded = AutoTokenizer.from_pretrained("alice/tok")
    assert loaded("good movie")["input_ids"] == tokenizer("good movie")["input_ids"]


def test_trainer_push_to_hub(hub, tmp_path):
    from transformers import Trainer, TrainingArguments

    class Rows(torch.utils.data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return {
                "input_ids": torch.tensor([2, 5 + i, 3]),
                "attention_mask": torch.ones(3, dtype=torch.long),
                "labels": torch.tensor(i % 2),
            }

    args = TrainingArguments(
        output_dir=str(tmp_path / "out"),
        max_steps=1,
        per_device_train_batch_size=2,
        push_to_hub=True,
        hub_model_id="alice/trained",
        hub_token=ALICE,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
    )
    trainer = Trainer(model=tiny_bert(), args=args, train_dataset=Rows())
    trainer.train()
    trainer.push_to_hub(commit_message="End of training")
    assert hub.commits("alice/trained")[-1] == "End of training"
    assert {"config.json", "model.safetensors", "README.md"} <= set(hub.files("alice/trained"))


def test_hf_hub_download_snapshot_and_errors(hub, api, tmp_path):
    hub.upload("alice/files", {"a.txt": "A", "dir/b.txt": b"B" * 10, "dir/deeper/c.bin": b"\x00\x01"})
    path = hf_hub_download("alice/files", "dir/b.txt")
    assert Path(path).read_bytes() == b"B" * 10

    local = snapshot_download("alice/files", local_dir=tmp_path / "snap")
    got = {p.relative_to(local).as_posix(): p.read_bytes() for p in (tmp_path / "snap").rglob("*") if p.is_file()}
    got = {k: v for k, v in got.items() if not k.startswith(".cache/")}
    assert got == hub.files("alice/files")

    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download("alice/files", "missing.txt")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("alice/nope", "a.txt")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download("alice/files", "a.txt", revision="no-such-branch")
    assert api.file_exists("alice/files", "a.txt")
    assert not api.file_exists("alice/files", "zzz.txt")


def test_repo_info_tree_paths_info_commits(hub, api):
    hub.upload("alice/info", {"README.md": "---\nlicense: mit\ntags: [demo]\n---\n# Hi\n", "w/x.bin": b"x"})
    info = api.model_info("alice/info", files_metadata=True)
    assert info.sha == hub.head("alice/info")
    assert info.private is False
    assert info.gated is False
    assert {s.rfilename for s in info.siblings} == {".gitattributes", "README.md", "w/x.bin"}
    assert "license:mit" in info.tags
    assert api.model_info("alice/info", revision=info.sha).sha == info.sha

    top = {e.path: type(e).__name__ for e in api.list_repo_tree("alice/info")}
    assert top == {"w": "RepoFolder", "README.md": "RepoFile", ".gitattributes": "RepoFile"}
    assert [e.path for e in api.list_repo_tree("alice/info", "w")] == ["w/x.bin"]
    deep = api.list_repo_tree("alice/info", recursive=True, expand=True)
    assert all(e.last_commit is not None for e in deep)
    paths = api.get_paths_info("alice/info", ["w", "README.md", "nope"])
    assert sorted(p.path for p in paths) == ["README.md", "w"]
    assert [c.title for c in api.list_repo_commits("alice/info")] == ["Upload files", "initial commit"]


def test_tree_pagination(hub, api):
    hub.tree_page_size = 2
    hub.upload("alice/many", {f"f{i}.txt": str(i) for i in range(7)})
    assert len(api.list_repo_files("alice/many")) == 8
    assert len(hub.requests_to("tree")) == 4


def test_branches_and_pull_requests(hub, api):
    api.create_repo("alice/br", token=ALICE)
    api.create_branch("alice/br", branch="dev", token=ALICE)
    api.upload_file(path_or_fileobj=b"dev", path_in_repo="x.txt", repo_id="alice/br", revision="dev", token=ALICE)
    assert "x.txt" not in hub.files("alice/br")
    assert hub.files("alice/br", revision="dev")["x.txt"] == b"dev"
    assert Path(hf_hub_download("alice/br", "x.txt", revision="dev")).read_bytes() == b"dev"

    commit = api.upload_file(
        path_or_fileobj=b"pr", path_in_repo="y.txt", repo_id="alice/br", create_pr=True, token=ALICE
    )
    assert commit.pr_url is not None
    assert "y.txt" not in hub.files("alice/br")
    assert list(hub.pull_requests("alice/br")) == [1]
    assert hub.files("alice/br", revision="refs/pr/1")["y.txt"] == b"pr"


def test_deletions_refs_auth_check_delete_repo(hub, api):
    hub.upload("alice/del", {"keep.txt": "k", "gone.txt": "g", "dir/a.txt": "a", "dir/sub/b.txt": "b"})
    api.delete_file("gone.txt", repo_id="alice/del", token=ALICE)
    api.delete_folder("dir", repo_id="alice/del", token=ALICE)
    assert set(hub.files("alice/del")) == {".gitattributes", "keep.txt"}
    with pytest.raises(RemoteEntryNotFoundError):
        api.delete_file("gone.txt", repo_id="alice/del", token=ALICE)

    refs = api.list_repo_refs("alice/del")
    assert [(b.name, b.target_commit) for b in refs.branches] == [("main", hub.head("alice/del"))]

    api.auth_check("alice/del", token=BOB)  # public: readable by anyone
    api.auth_check("alice/del", write=True, token=ALICE)
    with pytest.raises(HfHubHTTPError) as err:
        api.auth_check("alice/del", write=True, token=BOB)
    assert err.value.response.status_code == 403

    api.delete_repo("alice/del", token=ALICE)
    assert not hub.repo_exists("alice/del")
    api.delete_repo("alice/del", token=ALICE, missing_ok=True)


def test_hffilesystem_ls_and_range_reads(hub, csv_dataset):
    fs = HfFileSystem()
    names = fs.ls(f"datasets/{csv_dataset}", detail=False)
    assert set(names) == {f"datasets/{csv_dataset}/{n}" for n in (".gitattributes", "train.csv", "test.csv")}
    with fs.open(f"datasets/{csv_dataset}/train.csv", block_size=8) as f:
        f.seek(5)
        assert f.read(5) == b"label"
    assert any(r.endpoint == "resolve" and r.status == 206 for r in hub.requests)


# --------------------------------------------------------------------------------------------------------------
# Private and gated repos
# --------------------------------------------------------------------------------------------------------------


def test_private_repo_is_invisible_to_others(hub, api):
    from transformers import AutoModelForSequenceClassification

    tiny_bert().push_to_hub("alice/secret", token=ALICE, private=True)
    assert hub.is_private("alice/secret")

    assert api.model_info("alice/secret", token=ALICE).private is True
    assert api.repo_exists("alice/secret", token=ALICE)
    assert not api.repo_exists("alice/secret", token=BOB)
    assert not api.repo_exists("alice/secret")
    with pytest.raises(RepositoryNotFoundError) as err:
        api.model_info("alice/secret", token=BOB)
    assert err.value.response.status_code == 404
    with pytest.raises(RepositoryNotFoundError) as err:
        hf_hub_download("alice/secret", "config.json")
    assert err.value.response.status_code == 401
    with pytest.raises(OSError):
        AutoModelForSequenceClassification.from_pretrained("alice/secret")
    model = AutoModelForSequenceClassification.from_pretrained("alice/secret", token=ALICE)
    assert model.config.hidden_size == 16


def test_gated_repo(hub, api):
    hub.upload("bob/gated", {"config.json": "{}"})
    hub.set_gated("bob/gated")
    assert api.model_info("bob/gated").gated == "auto"  # metadata stays public, as on the Hub

    with pytest.raises(GatedRepoError) as err:
        hf_hub_download("bob/gated", "config.json", token=ALICE)
    assert err.value.response.status_code == 403
    with pytest.raises(GatedRepoError) as err:
        hf_hub_download("bob/gated", "config.json")
    assert err.value.response.status_code == 401
    assert api.repo_exists("bob/gated")

    assert Path(hf_hub_download("bob/gated", "config.json", token=BOB)).read_text() == "{}"  # the owner
    hub.grant_access("bob/gated", "alice")
    assert Path(hf_hub_download("bob/gated", "config.json", token=ALICE)).read_text() == "{}"


def test_write_permissions(hub, api):
    hub.upload("alice/perm", {"a.txt": "a"})
    with pytest.raises(HfHubHTTPError) as err:
        api.upload_file(path_or_fileobj=b"x", path_in_repo="b.txt", repo_id="alice/perm", token=BOB)
    assert err.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as err:
        api.upload_file(path_or_fileobj=b"x", path_in_repo="b.txt", repo_id="alice/perm")
    assert err.value.response.status_code == 401
    with pytest.raises(RepositoryNotFoundError):
        api.upload_file(path_or_fileobj=b"x", path_in_repo="b.txt", repo_id="alice/nope", token=ALICE)
    assert set(hub.files("alice/perm")) == {".gitattributes", "a.txt"}


# --------------------------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------------------------


def test_load_dataset_csv(hub, csv_dataset):
    import datasets

    ds = datasets.load_dataset(csv_dataset)
    assert set(ds) == {"train", "test"}
    assert ds["train"].num_rows == 3
    assert ds["train"][0] == {"text": "good movie", "label": 1}
    assert datasets.load_dataset(csv_dataset, split="test")["text"] == ["meh"]


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def test_load_dataset_config_name_and_parquet(hub):
    import datasets

    readme = (
        "---\n"
        "configs:\n"
        "- config_name: small\n"
        "  data_files:\n"
        "  - split: train\n"
        "    path: small/train.parquet\n"
        "- config_name: other\n"
        "  data_files: other/*.parquet\n"
        "---\n"
    )
    files = {
        "README.md": readme,
        "small/train.parquet": parquet_bytes(pd.DataFrame({"text": ["a", "b"], "label": [0, 1]})),
        "other/x.parquet": parquet_bytes(pd.DataFrame({"text": ["z"], "label": [1]})),
    }
    hub.upload("alice/cfg-ds", files, repo_type="dataset")
    small = datasets.load_dataset("alice/cfg-ds", "small", split="train")
    assert small["text"] == ["a", "b"]
    other = datasets.load_dataset("alice/cfg-ds", "other")
    assert other["train"]["text"] == ["z"]


def test_load_dataset_misspelled_id(hub, csv_dataset):
    import datasets
    from datasets.exceptions import DatasetNotFoundError

    with pytest.raises(DatasetNotFoundError):
        datasets.load_dataset("alice/tiny-sd")
    with pytest.raises(DatasetNotFoundError):
        datasets.load_dataset("nobody/tiny-ds")


def test_load_private_dataset_needs_the_owner_token(hub, api, csv_dataset):
    import datasets
    from datasets.exceptions import DatasetNotFoundError

    api.update_repo_settings(csv_dataset, repo_type="dataset", private=True, token=ALICE)
    with pytest.raises(DatasetNotFoundError):
        datasets.load_dataset(csv_dataset, token=BOB)
    assert datasets.load_dataset(csv_dataset, split="train", token=ALICE).num_rows == 3


# --------------------------------------------------------------------------------------------------------------
# Fault injection and request log
# --------------------------------------------------------------------------------------------------------------


def test_fail_next_commit_status(hub, api):
    api.create_repo("alice/f", token=ALICE)
    hub.fail_next("commit", status=500, times=2)
    for _ in range(2):  # the commit call itself is not retried by huggingface_hub
        with pytest.raises(HfHubHTTPError) as err:
            api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/f", token=ALICE)
        assert err.value.response.status_code == 500
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/f", token=ALICE)
    assert [r.status for r in hub.requests_to("commit")] == [500, 500, 200]
    assert hub.files("alice/f")["x.txt"] == b"x"


def test_preupload_is_retried_then_gives_up(hub, api):
    api.create_repo("alice/f", token=ALICE)
    hub.fail_next("preupload", status=503, times=2)  # huggingface_hub retries: 1 + 5 attempts
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/f", token=ALICE)
    assert [r.status for r in hub.requests_to("preupload")] == [503, 503, 200]

    hub.clear_requests()
    hub.fail_all("preupload", status=503)
    with pytest.raises(HfHubHTTPError) as err:
        api.upload_file(path_or_fileobj=b"y", path_in_repo="y.txt", repo_id="alice/f", token=ALICE)
    assert err.value.response.status_code == 503
    assert len(hub.requests_to("preupload")) == 6
    assert hub.requests_to("commit") == []
    hub.heal()
    api.upload_file(path_or_fileobj=b"y", path_in_repo="y.txt", repo_id="alice/f", token=ALICE)


def test_fail_all_commit_until_heal(hub, api):
    api.create_repo("alice/f", token=ALICE)
    hub.fail_all("commit", status=503)
    for _ in range(3):
        with pytest.raises(HfHubHTTPError):
            api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/f", token=ALICE)
    hub.heal("commit")
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/f", token=ALICE)


def test_fail_create_repo_and_whoami(hub, api):
    hub.fail_next("create_repo", status=500)
    with pytest.raises(HfHubHTTPError) as err:
        api.create_repo("alice/r", token=ALICE)
    assert err.value.response.status_code == 500
    assert not hub.repo_exists("alice/r")
    api.create_repo("alice/r", token=ALICE)

    hub.fail_next("whoami", status=502)
    with pytest.raises(HfHubHTTPError) as err:
        api.whoami(token=ALICE)
    assert err.value.response.status_code == 502
    assert api.whoami(token=ALICE)["name"] == "alice"


def test_drop_connection(hub, api):
    api.create_repo("alice/f", token=ALICE)
    hub.fail_next("commit", mode="drop")
    with pytest.raises(httpx2.TransportError):
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/f", token=ALICE)
    assert hub.requests_to("commit")[-1].status is None
    assert "x.txt" not in hub.files("alice/f")

    hub.fail_next("whoami", mode="drop")
    with pytest.raises(httpx2.TransportError):
        api.whoami(token=ALICE)
    # preupload goes through http_backoff, which retries dropped connections
    hub.clear_requests()
    hub.fail_next("preupload", mode="drop")
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/f", token=ALICE)
    assert [r.status for r in hub.requests_to("preupload")] == [None, 200]
    assert hub.files("alice/f")["x.txt"] == b"x"


def test_resolve_faults(hub):
    hub.upload("alice/dl", {"a.txt": "A", "b.txt": "B"})
    # A failed HEAD is retried by hf_hub_download when nothing is cached.
    hub.fail_next("resolve", status=500)
    assert Path(hf_hub_download("alice/dl", "a.txt")).read_text() == "A"

    hub.fail_all("resolve", status=503, path_contains="b.txt")
    with pytest.raises(LocalEntryNotFoundError):
        hf_hub_download("alice/dl", "b.txt")
    hub.heal()

    hub.fail_next("resolve", status=500, method="GET", path_contains="b.txt")  # HEAD fine, download fails
    with pytest.raises(HfHubHTTPError):
        hf_hub_download("alice/dl", "b.txt")
    assert Path(hf_hub_download("alice/dl", "b.txt")).read_text() == "B"

    from transformers import AutoConfig

    hub.upload("alice/cfg", {"config.json": '{"model_type": "bert"}'})
    hub.fail_all("resolve", status=503)
    with pytest.raises(OSError):
        AutoConfig.from_pretrained("alice/cfg")


def test_delay(hub, api):
    hub.upload("alice/slow", {"a.txt": "A"})
    hub.fail_next("whoami", delay=0.3)  # slow, then answered normally
    start = time.monotonic()
    assert api.whoami(token=ALICE)["name"] == "alice"
    assert time.monotonic() - start >= 0.3

    hub.fail_next("repo_info", delay=2.0)
    with pytest.raises(httpx2.TimeoutException):
        api.model_info("alice/slow", timeout=0.2)

    hub.fail_next("commit", status=500, delay=0.2)  # slow *and* failing
    with pytest.raises(HfHubHTTPError):
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/slow", token=ALICE)


def test_drip(hub, api):
    """A drip answers in full, a few bytes at a time: slow overall although each read gets bytes quickly."""
    hub.fail_next("whoami", mode="drip", delay=0.01, drip_bytes=40)
    start = time.monotonic()
    assert api.whoami(token=ALICE)["name"] == "alice"
    assert time.monotonic() - start >= 0.05
    assert hub.requests_to("whoami")[-1].status == 200

    hub.fail_all("whoami", mode="drip", delay=0.5)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            api.whoami(token=ALICE)
        except httpx2.TransportError as err:
            outcome.append(err)

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.2)
    hub.heal()  # the dripping answer stops and the connection closes
    caller.join(5)
    assert not caller.is_alive() and len(outcome) == 1
    for _ in range(50):  # the server records the cut answer just after hanging up
        if hub.requests_to("whoami")[-1].status is None:
            break
        time.sleep(0.02)
    assert hub.requests_to("whoami")[-1].status is None


def test_unknown_fault_endpoint_is_rejected(hub):
    with pytest.raises(ValueError):
        hub.fail_next("comit")


def test_requests_log_never_holds_tokens(hub, api):
    api.whoami(token=ALICE)
    api.create_repo("alice/log", token=ALICE)
    hf_hub_download("alice/log", ".gitattributes", token=BOB)
    assert [(r.method, r.path, r.status) for r in hub.requests if r.endpoint != "agent_harnesses"][:2] == [
        ("GET", "/api/whoami-v2", 200),
        ("POST", "/api/repos/create", 200),
    ]
    assert {r.user for r in hub.requests} >= {"alice", "bob"}
    dump = repr(hub.requests)
    assert ALICE not in dump
    assert BOB not in dump


def test_reset_between_tests_starts_clean(hub):
    assert hub.repos() == []
    assert hub.requests == []
