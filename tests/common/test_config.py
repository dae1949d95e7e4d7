"""Settings.from_env(), read_env_file() and load_settings(): parsing, defaults and errors naming the variable."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from common.config import Settings, SettingsError, load_settings, read_env_file, settings_env

NAMES = [f.name.upper() for f in fields(Settings)]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A process environment without any castflow setting (nor CASTFLOW_ENV_FILE)."""
    for name in [*NAMES, "CASTFLOW_ENV_FILE"]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_empty_environment_gives_the_defaults():
    """With no variable set every setting keeps its default."""
    assert Settings.from_env({}) == Settings()


def test_values_are_parsed_to_their_types():
    """Integers, floats and strings are converted from their text; surrounding spaces are ignored."""
    settings = Settings.from_env({
        "MAX_UPLOAD_MB": " 50 ", "MAX_REJECTED_SHARE": "0.25", "ETL_CHUNK_ROWS": "5000",
        "REDIS_URL": "redis://cache:6380/2", "API_KEY": " secret ", "DATABASE_URL": "mysql+pymysql://u:p@db/castflow",
        "HOLIDAY_COUNTRY": "FR",
    })
    assert settings.max_upload_mb == 50
    assert settings.max_rejected_share == 0.25
    assert settings.etl_chunk_rows == 5000
    assert settings.redis_url == "redis://cache:6380/2"
    assert settings.api_key == "secret"
    assert settings.database_url == "mysql+pymysql://u:p@db/castflow"
    assert settings.holiday_country == "FR"


def test_unrelated_variables_are_ignored():
    """Variables that are not settings (PATH, lower-case names) change nothing."""
    assert Settings.from_env({"PATH": "/bin", "max_upload_mb": "1", "CASTFLOW_X": "y"}) == Settings()


@pytest.mark.parametrize(("name", "raw"), [
    ("MAX_UPLOAD_MB", "abc"), ("MAX_UPLOAD_MB", "1.5"), ("MAX_UPLOAD_MB", ""), ("ETL_CHUNK_ROWS", "1e5"),
    ("MAX_STORED_ERRORS", "ten"), ("FORECAST_HORIZON_DAYS", "30d"), ("MAX_REJECTED_SHARE", "10%"),
    ("MAX_REJECTED_SHARE", "0,1"),
])
def test_malformed_number_names_the_variable(name, raw):
    """A value that is not a number of the setting's type fails with the variable's name and value."""
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: raw})
    assert str(caught.value).startswith(f"{name}={raw.strip()!r} is not a valid ")


@pytest.mark.parametrize(("name", "raw"), [
    ("MAX_UPLOAD_MB", "0"), ("MAX_UPLOAD_MB", "-5"), ("MAX_UNCOMPRESSED_MB", "0"),
    ("MAX_REJECTED_SHARE", "1.5"), ("MAX_REJECTED_SHARE", "-0.1"), ("MAX_REJECTED_SHARE", "nan"),
    ("MAX_REJECTED_SHARE", "inf"), ("MAX_STORED_ERRORS", "-1"), ("ETL_CHUNK_ROWS", "999"),
    ("ETL_MAX_ATTEMPTS", "0"), ("FORECAST_HORIZON_DAYS", "0"), ("FORECAST_HORIZON_DAYS", "367"),
    ("DATABASE_URL", "postgresql://u:p@db/castflow"), ("DATABASE_URL", "castflow.db"),
])
def test_out_of_range_value_names_the_variable(name, raw):
    """A value outside its allowed range fails at start with the variable's name."""
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: raw})
    assert str(caught.value).startswith(f"{name} ")


@pytest.mark.parametrize(("name", "raw"), [
    ("ETL_CHUNK_ROWS", "1000"), ("FORECAST_HORIZON_DAYS", "1"), ("FORECAST_HORIZON_DAYS", "366"),
    ("MAX_REJECTED_SHARE", "0"), ("MAX_REJECTED_SHARE", "1"), ("MAX_STORED_ERRORS", "0"),
    ("ETL_MAX_ATTEMPTS", "1"), ("DATABASE_URL", "sqlite:///castflow.db"),
    ("DATABASE_URL", "mariadb+pymysql://u:p@db/castflow"), ("DATABASE_URL", "mysql://u:p@db/castflow"),
])
def test_boundary_values_are_accepted(name, raw):
    """The ends of each allowed range, and each supported database scheme, are valid."""
    Settings.from_env({name: raw})


def test_settings_error_is_a_value_error():
    """SettingsError can be caught as ValueError."""
    assert issubclass(SettingsError, ValueError)


def test_from_env_reads_the_process_environment_by_default(clean_env):
    """Without an explicit mapping, from_env reads os.environ."""
    clean_env.setenv("MAX_UPLOAD_MB", "7")
    assert Settings.from_env().max_upload_mb == 7


def test_byte_sizes_follow_the_megabyte_settings():
    """max_upload_bytes and max_uncompressed_bytes are the MB settings in bytes."""
    settings = Settings(max_upload_mb=3, max_uncompressed_mb=5)
    assert (settings.max_upload_bytes, settings.max_uncompressed_bytes) == (3 * 2**20, 5 * 2**20)


def test_settings_env_round_trips():
    """settings_env gives variables from which from_env rebuilds the same settings."""
    settings = Settings(max_upload_mb=9, max_rejected_share=0.2, api_key="k", queue_prefix="t1-", etl_chunk_rows=1234)
    env = settings_env(settings)
    assert set(env) == set(NAMES)
    assert Settings.from_env(env) == settings


def test_env_file_missing_is_empty(tmp_path: Path):
    """A .env file that does not exist gives no values."""
    assert read_env_file(tmp_path / ".env") == {}


def test_env_file_is_parsed(tmp_path: Path):
    """KEY=value lines are read; comments, blank lines, surrounding spaces and matching quotes are dropped."""
    path = tmp_path / ".env"
    path.write_text(
        "# castflow settings\n\n"
        "MAX_UPLOAD_MB=50\n"
        "  API_KEY = 'secret value'  \n"
        'DATABASE_URL="mysql+pymysql://u:p@db/castflow?charset=utf8mb4"\n'
        "QUEUE_PREFIX=\n"
        "LOG_LEVEL='DEBUG\"\n"
        "   # indented comment\n",
        encoding="utf-8",
    )
    assert read_env_file(path) == {
        "MAX_UPLOAD_MB": "50",
        "API_KEY": "secret value",
        "DATABASE_URL": "mysql+pymysql://u:p@db/castflow?charset=utf8mb4",
        "QUEUE_PREFIX": "",
        "LOG_LEVEL": "'DEBUG\"",
    }


def test_env_file_later_line_wins(tmp_path: Path):
    """A key set twice keeps its last value."""
    path = tmp_path / ".env"
    path.write_text("MAX_UPLOAD_MB=1\nMAX_UPLOAD_MB=2\n", encoding="utf-8")
    assert read_env_file(path) == {"MAX_UPLOAD_MB": "2"}


@pytest.mark.parametrize(("text", "line"), [
    ("MAX_UPLOAD_MB=1\nnot a setting\n", 2),
    ("# ok\n=value\n", 2),
    ("BAD-NAME=1\n", 1),
    ("export API_KEY=x\n", 1),
])
def test_env_file_bad_line_names_file_and_line(tmp_path: Path, text, line):
    """A line that is not KEY=value fails with the file's name and the line number."""
    path = tmp_path / "custom.env"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError, match=rf"^custom\.env line {line}: expected KEY=value$"):
        read_env_file(path)


def test_load_settings_reads_the_env_file(clean_env, tmp_path: Path):
    """load_settings takes values from the file CASTFLOW_ENV_FILE names."""
    path = tmp_path / "castflow.env"
    path.write_text("MAX_UPLOAD_MB=12\nETL_CHUNK_ROWS=2000\n", encoding="utf-8")
    clean_env.setenv("CASTFLOW_ENV_FILE", str(path))
    settings = load_settings()
    assert (settings.max_upload_mb, settings.etl_chunk_rows) == (12, 2000)


def test_load_settings_process_environment_wins_over_the_file(clean_env, tmp_path: Path):
    """A variable set in the process environment overrides the same key in the .env file."""
    path = tmp_path / "castflow.env"
    path.write_text("MAX_UPLOAD_MB=12\n", encoding="utf-8")
    clean_env.setenv("CASTFLOW_ENV_FILE", str(path))
    clean_env.setenv("MAX_UPLOAD_MB", "99")
    assert load_settings().max_upload_mb == 99


def test_load_settings_with_empty_env_file_setting_reads_no_file(clean_env, tmp_path: Path):
    """CASTFLOW_ENV_FILE='' means no .env file: defaults apply."""
    clean_env.setenv("CASTFLOW_ENV_FILE", "")
    clean_env.chdir(tmp_path)
    assert load_settings() == Settings()


def test_load_settings_fails_on_a_bad_value_from_the_file(clean_env, tmp_path: Path):
    """A malformed value in the .env file fails at start with the variable's name."""
    path = tmp_path / "castflow.env"
    path.write_text("ETL_CHUNK_ROWS=lots\n", encoding="utf-8")
    clean_env.setenv("CASTFLOW_ENV_FILE", str(path))
    with pytest.raises(SettingsError, match="^ETL_CHUNK_ROWS="):
        load_settings()
