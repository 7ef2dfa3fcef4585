import pytest
from django.core.exceptions import ImproperlyConfigured

from contact_center.env import env_bool, env_int, env_list, env_str


def test_unset_and_empty_mean_the_default(monkeypatch):
    monkeypatch.delenv("CC_X", raising=False)
    assert env_str("CC_X", "d") == "d"
    monkeypatch.setenv("CC_X", "")
    assert env_str("CC_X", "d") == "d"
    assert env_bool("CC_X", True) is True
    assert env_int("CC_X", 7) == 7
    assert env_list("CC_X", ["a"]) == ["a"]


def test_values_are_parsed(monkeypatch, tmp_path):
    monkeypatch.setenv("CC_X", " a, b ,,c ")
    assert env_list("CC_X", []) == ["a", "b", "c"]
    monkeypatch.setenv("CC_X", "Yes")
    assert env_bool("CC_X") is True
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    monkeypatch.setenv("CC_X_FILE", str(secret))
    assert env_str("CC_X") == "from-file"


def test_bad_values_name_the_variable(monkeypatch):
    monkeypatch.setenv("CC_X", "many")
    with pytest.raises(ImproperlyConfigured, match="CC_X must be an integer"):
        env_int("CC_X", 1)
    with pytest.raises(ImproperlyConfigured, match="CC_X must be a boolean"):
        env_bool("CC_X")
