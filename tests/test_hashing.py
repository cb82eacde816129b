import pytest

from harvester.config import Config
from harvester.privacy.hashing import SecretMissing, fingerprint, keyed_fingerprint, load_secret, pseudonym


def test_keyed_fingerprints_depend_on_the_key_and_ignore_case():
    assert keyed_fingerprint(b"k" * 16, "Anne@Mastodon.nl") == keyed_fingerprint(b"k" * 16, "anne@mastodon.nl")
    assert keyed_fingerprint(b"k" * 16, "anne@mastodon.nl") != keyed_fingerprint(b"j" * 16, "anne@mastodon.nl")
    assert keyed_fingerprint(b"k" * 16, "anne@mastodon.nl") != fingerprint("anne@mastodon.nl")


def test_pseudonym_is_stable_and_hides_the_name():
    p = pseudonym(b"s" * 32, "anne@mastodon.nl")
    assert p == pseudonym(b"s" * 32, "anne@mastodon.nl") and p.startswith("deelnemer-")
    assert "anne" not in p


def test_missing_secret_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("HARVESTER_SECRET", raising=False)
    with pytest.raises(SecretMissing, match="HARVESTER_SECRET"):
        load_secret(Config(path=tmp_path / "c.toml").privacy.secret_env)
    monkeypatch.setenv("HARVESTER_SECRET", "x" * 32)
    assert load_secret(Config(path=tmp_path / "c.toml").privacy.secret_env) == b"x" * 32
