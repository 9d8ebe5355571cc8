"""Hardware choices: precision, device and storage, decided without the hardware at hand."""

from __future__ import annotations

import pytest

from trainer_core import inference, runtime


def test_auto_precision_takes_fp16_where_bf16_would_be_emulated(monkeypatch):
    import torch

    calls = []

    def is_bf16_supported(including_emulation: bool = True) -> bool:
        calls.append(including_emulation)
        return including_emulation  # a T4: bf16 only through emulation

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
    assert runtime.precision_flags("auto") == {"bf16": False, "fp16": True}
    assert calls == [False]
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)  # an A100, H100
    assert runtime.precision_flags("auto") == {"bf16": True, "fp16": False}


def test_on_zerogpu_predictions_stay_on_the_cpu_whatever_torch_says(monkeypatch):
    import torch

    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # what spaces makes it say in the main process
    assert inference.pick_device() == "cpu"


@pytest.mark.parametrize(
    ("on_space", "has_data", "expected"), [(True, True, "data"), (True, False, None), (False, True, None)]
)
def test_runs_live_on_persistent_storage_when_the_space_has_it(tmp_path, monkeypatch, on_space, has_data, expected):
    for name in ("SPACE_ID", "SYSTEM"):
        monkeypatch.delenv(name, raising=False)
    if on_space:
        monkeypatch.setenv("SPACE_ID", "owner/space")
    data = tmp_path / "data"
    if has_data:
        data.mkdir()
    home = runtime.default_home(str(data))
    assert home == (str(data / "trainer_studio") if expected else "studio_data")
