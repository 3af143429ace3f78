from pathlib import Path

import pytest

from heron.config import load_settings
from heron.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    import os

    for name in list(os.environ):
        if name.startswith("HERON_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HERON_HOME", str(tmp_path))


def test_defaults_put_sqlite_in_home(tmp_path: Path):
    settings = load_settings()
    assert (
        settings.resolved_database_url
        == f"sqlite:///{(tmp_path / 'heron.db').resolve()}"
    )
    assert settings.action_expiry.days == 7


def test_a_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HERON_WORKERS", "many")
    with pytest.raises(ConfigError, match="HERON_WORKERS"):
        load_settings()


def test_an_unsupported_database_is_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HERON_DATABASE_URL", "mysql://root@localhost/heron")
    with pytest.raises(ConfigError, match="HERON_DATABASE_URL"):
        load_settings()


def test_the_config_file_is_read_and_the_environment_wins(monkeypatch, tmp_path: Path):
    (tmp_path / "heron.toml").write_text('operator = "filed"\nworkers = 3\n')
    monkeypatch.setenv("HERON_WORKERS", "5")
    settings = load_settings()
    assert (settings.operator, settings.workers) == ("filed", 5)


def test_an_unknown_key_in_the_config_file_is_an_error(tmp_path: Path):
    (tmp_path / "heron.toml").write_text("wrokers = 3\n")
    with pytest.raises(ConfigError, match="wrokers"):
        load_settings()


def test_invalid_toml_is_an_error_naming_the_file(tmp_path: Path):
    (tmp_path / "heron.toml").write_text("workers = = 3\n")
    with pytest.raises(ConfigError, match="heron.toml"):
        load_settings()


def test_scoring_weights_read_as_pairs_or_json(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HERON_SCORING_WEIGHTS", "links/shortener=3, reputation=8")
    assert load_settings().scoring_weights == {"links/shortener": 3, "reputation": 8}
    monkeypatch.setenv("HERON_SCORING_WEIGHTS", '{"headers/reply-to": 0}')
    assert load_settings().scoring_weights == {"headers/reply-to": 0}


def test_a_malformed_weight_key_names_the_setting(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HERON_SCORING_WEIGHTS", "Links Shortener=3")
    with pytest.raises(ConfigError, match="scoring_weights"):
        load_settings()


def test_thresholds_out_of_order_stop_start_up(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HERON_SUSPICIOUS_POINTS", "9")
    with pytest.raises(
        ConfigError, match="HERON_SUSPICIOUS_POINTS .suspicious_points. must not exceed"
    ):
        load_settings()


def test_a_misspelt_environment_variable_stops_start_up(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("HERON_ORG_DOMAIN", "example.org")
    with pytest.raises(ConfigError, match="unknown setting HERON_ORG_DOMAIN"):
        load_settings()


def test_an_empty_operator_is_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HERON_OPERATOR", "")
    with pytest.raises(ConfigError, match="HERON_OPERATOR"):
        load_settings()


def test_a_weight_for_an_analyzer_heron_lacks_stops_start_up(
    monkeypatch: pytest.MonkeyPatch,
):
    from heron.engine.service import Heron

    monkeypatch.setenv("HERON_SCORING_WEIGHTS", "url-reputaton=8")
    with pytest.raises(ConfigError, match="no analyzer is called 'url-reputaton'"):
        Heron(load_settings())


def test_an_in_memory_sqlite_database_is_refused(monkeypatch: pytest.MonkeyPatch):
    for url in ("sqlite://", "sqlite:///:memory:"):
        monkeypatch.setenv("HERON_DATABASE_URL", url)
        with pytest.raises(ConfigError, match="in-memory database forgets"):
            load_settings()


def test_a_file_that_is_no_database_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    from heron.engine.service import Heron

    impostor = tmp_path / "not.db"
    impostor.write_text("plain words, not SQLite\n" * 100)
    monkeypatch.setenv("HERON_DATABASE_URL", f"sqlite:///{impostor}")
    with pytest.raises(ConfigError, match="HERON_DATABASE_URL: cannot open"):
        Heron(load_settings())


def test_host_lists_and_sealers_are_domain_lists(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HERON_FREE_HOSTING", "Pages.Example.test, sites.test")
    monkeypatch.setenv("HERON_TRUSTED_ARC_SEALERS", "google.com")
    settings = load_settings()
    assert settings.free_hosting == ["pages.example.test", "sites.test"]
    assert settings.trusted_arc_sealers == ["google.com"]
    monkeypatch.setenv("HERON_FILE_SHARING", "not a domain")
    with pytest.raises(ConfigError, match="HERON_FILE_SHARING"):
        load_settings()


def test_a_missing_dns_records_file_stops_start_up(tmp_path: Path, monkeypatch):
    from heron.engine.service import Heron

    monkeypatch.setenv("HERON_DNS_RECORDS", str(tmp_path / "absent.json"))
    with pytest.raises(ConfigError, match="HERON_DNS_RECORDS"):
        Heron(load_settings())
