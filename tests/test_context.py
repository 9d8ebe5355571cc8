"""Who a visitor is and which token a request uses: pure helpers behind every tab."""

from __future__ import annotations

import pytest

from trainer_core.errors import InputError
from trainer_core.ui.context import pick_token, visitor_identity


def test_a_signed_in_visitor_is_filed_under_their_hub_name():
    assert visitor_identity("browser-id", "alice") == "hf:alice"
    assert visitor_identity("browser-id", None) == "browser:browser-id"


def test_no_identity_at_all_is_refused():
    with pytest.raises(InputError, match="reload the page"):
        visitor_identity(None, None)


def test_on_a_space_the_servers_token_is_never_lent(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_server_secret")
    assert pick_token(None, None, on_space=True) is False  # anonymous, never the Space's HF_TOKEN
    assert pick_token(None, "  hf_typed ", on_space=True) == "hf_typed"
    assert pick_token("hf_oauth", "hf_typed", on_space=True) == "hf_oauth"


def test_off_a_space_the_environment_token_is_used(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_local")
    assert pick_token(None, "", on_space=False) == "hf_local"
