"""trainer_core.modeling: what a model id may load (safetensors only, no remote code) and the label maps."""

from __future__ import annotations

import json

import pytest
from tiny import make_tiny_model

from trainer_core import modeling
from trainer_core.errors import InputError


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("modeling") / "bert", max_positions=64)


def test_a_local_model_is_checked_and_loaded_with_named_labels(tiny, tmp_path):
    raw = modeling.check_no_remote_code(str(tiny))
    assert raw["model_type"] == "bert"

    model = modeling.load_model(str(tiny), ["sad", "happy", "meh"])
    assert model.config.num_labels == 3
    assert model.config.id2label == {0: "sad", 1: "happy", 2: "meh"}
    assert model.config.label2id == {"sad": 0, "happy": 1, "meh": 2}

    model.save_pretrained(tmp_path / "saved")
    assert modeling.read_label_names(tmp_path / "saved") == ["sad", "happy", "meh"]
    assert modeling.read_label_names(tmp_path / "nowhere") is None


def test_weights_without_safetensors_are_refused_before_loading(tmp_path):
    import torch
    from safetensors.torch import load_file

    folder = make_tiny_model(tmp_path / "bin")
    # The same weights as a pickle, which loading would unpickle: what an old checkpoint ships.
    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    with pytest.raises(InputError, match="has no safetensors weights"):
        modeling.check_no_remote_code(str(folder))


def test_a_config_that_asks_for_remote_code_is_refused(tmp_path):
    folder = make_tiny_model(tmp_path / "remote")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModelForSequenceClassification": "modeling_evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match="custom code"):
        modeling.check_no_remote_code(str(folder))


def test_a_missing_directory_is_named_as_such(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        modeling.check_no_remote_code(str(tmp_path / "no-such-model"))


def test_a_model_missing_on_the_hub_says_how_to_fix_the_id(hub):
    with pytest.raises(InputError, match="was not found") as caught:
        modeling.check_no_remote_code("alice/no-such-model")
    assert "bert-base-uncased" in str(caught.value)


def test_a_model_on_the_hub_without_safetensors_is_refused_from_its_file_list(hub, tmp_path):
    folder = make_tiny_model(tmp_path / "hub-bin")
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.suffix != ".safetensors"}
    files["pytorch_model.bin"] = b"not really a pickle"
    hub.upload("alice/pickled", files)
    with pytest.raises(InputError, match="has no safetensors weights"):
        modeling.check_no_remote_code("alice/pickled")


def test_max_positions_takes_the_smaller_limit_and_ignores_placeholders(tiny):
    tokenizer = modeling.load_tokenizer(str(tiny))
    assert modeling.max_positions(tokenizer, {"max_position_embeddings": 512}) == 64  # the tokenizer's is smaller
    tokenizer.model_max_length = int(1e30)  # "no limit" in many tokenizer configs
    assert modeling.max_positions(tokenizer, {"max_position_embeddings": 512}) == 512
    # RoBERTa-style position ids start after the padding index: two positions fewer.
    assert modeling.max_positions(tokenizer, {"max_position_embeddings": 514, "model_type": "roberta"}) == 512
    assert modeling.max_positions(tokenizer, None) is None


def test_a_max_length_over_the_model_limit_names_the_limit_to_use(tiny):
    tokenizer = modeling.load_tokenizer(str(tiny))
    with pytest.raises(InputError, match="--max-length 64 or less"):
        modeling.check_max_length("tiny", 65, tokenizer, {"max_position_embeddings": 64})
    modeling.check_max_length("tiny", 64, tokenizer, {"max_position_embeddings": 64})
