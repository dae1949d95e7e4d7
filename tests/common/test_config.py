"""Settings.from_env(), read_env_file() and load_settings(): parsing, defaults and errors naming the variable."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from common.config import Settings, SettingsError, load_settings, mask_url, read_env_file, settings_env

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


# Access: the keys, production mode, CORS


GOOD_KEY = "k" * 16


def test_production_without_api_key_refuses_to_start():
    """CASTFLOW_ENV=production with no API_KEY fails naming API_KEY and saying how to generate one."""
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"CASTFLOW_ENV": "production"})
    message = str(caught.value)
    assert message.startswith("API_KEY is required when CASTFLOW_ENV=production")
    assert 'python -c "import secrets; print(secrets.token_urlsafe(32))"' in message


@pytest.mark.parametrize("name", ["API_KEY", "READ_API_KEY"])
def test_production_refuses_a_short_key(name):
    """In production a key of fewer than 16 characters fails naming the setting."""
    env = {"CASTFLOW_ENV": "production", "API_KEY": GOOD_KEY, name: "x" * 15}
    with pytest.raises(SettingsError, match=rf"^{name} is shorter than 16 characters; generate one with"):
        Settings.from_env(env)


def test_production_with_a_long_key_starts():
    """A 16-character API_KEY (and READ_API_KEY) is enough in production."""
    settings = Settings.from_env({"CASTFLOW_ENV": "production", "API_KEY": GOOD_KEY, "READ_API_KEY": "r" * 16})
    assert settings.is_production and settings.read_api_key == "r" * 16


def test_development_allows_no_key_or_a_short_one():
    """The default environment is development, where an empty or short key is the developer's business."""
    assert Settings.from_env({}).castflow_env == "development"
    assert not Settings.from_env({"API_KEY": "dev"}).is_production


def test_unknown_environment_names_the_setting():
    """CASTFLOW_ENV must be development or production (a typo must not silently mean development)."""
    with pytest.raises(SettingsError, match="^CASTFLOW_ENV must be one of development, production"):
        Settings.from_env({"CASTFLOW_ENV": "prod"})


@pytest.mark.parametrize("env", ["development", "production"])
def test_read_key_without_api_key_is_a_configuration_error(env):
    """READ_API_KEY without API_KEY fails at start naming READ_API_KEY, in either environment."""
    with pytest.raises(SettingsError, match="^READ_API_KEY is set but API_KEY is empty"):
        Settings.from_env({"CASTFLOW_ENV": env, "READ_API_KEY": "r" * 20})


def test_read_key_equal_to_api_key_is_refused():
    """The read-only key cannot be the full key (it would grant everything)."""
    with pytest.raises(SettingsError, match="^READ_API_KEY must differ from API_KEY"):
        Settings.from_env({"API_KEY": GOOD_KEY, "READ_API_KEY": GOOD_KEY})


def test_cors_origins_are_split_and_trimmed():
    """CORS_ORIGINS is a comma-separated list of exact origins; empty means CORS off."""
    settings = Settings.from_env({"CORS_ORIGINS": "https://app.example.com, http://localhost:5173,,http://[::1]:8080"})
    assert settings.cors_origin_list == ("https://app.example.com", "http://localhost:5173", "http://[::1]:8080")
    assert Settings().cors_origin_list == ()


@pytest.mark.parametrize("origin", ["*", "https://*.example.com", "https://app.example.com/", "app.example.com",
                                    "https://app.example.com/path", "ftp://app.example.com", "null"])
def test_cors_origin_must_be_exact(origin):
    """A wildcard, a path, a trailing slash or a missing scheme is refused, naming CORS_ORIGINS."""
    with pytest.raises(SettingsError, match="^CORS_ORIGINS entry"):
        Settings.from_env({"CORS_ORIGINS": f"https://ok.example.com,{origin}"})


# Limits, timeout and log format


@pytest.mark.parametrize(("name", "raw"), [
    ("MAX_ROWS", "0"), ("MAX_COLUMNS", "3"), ("MAX_CELL_CHARS", "99"), ("API_QUERY_TIMEOUT_SECONDS", "-1"),
    ("API_QUERY_TIMEOUT_SECONDS", "nan"), ("API_QUERY_TIMEOUT_SECONDS", "inf"), ("LOG_FORMAT", "xml"),
])
def test_new_limits_out_of_range_name_the_variable(name, raw):
    """The limits, the query timeout and the log format fail at start with their name when out of range."""
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: raw})
    assert str(caught.value).startswith(f"{name} ")


def test_limits_reach_the_file_checks():
    """MAX_ROWS, MAX_COLUMNS and MAX_CELL_CHARS become the Limits the upload check and the reader use."""
    limits = Settings.from_env({"MAX_ROWS": "10", "MAX_COLUMNS": "8", "MAX_CELL_CHARS": "150"}).file_limits
    assert (limits.max_rows, limits.max_columns, limits.max_cell_chars) == (10, 8, 150)


def test_timeout_zero_means_none_and_log_format_json_is_accepted():
    """API_QUERY_TIMEOUT_SECONDS=0 (no limit) and LOG_FORMAT=json are valid."""
    settings = Settings.from_env({"API_QUERY_TIMEOUT_SECONDS": "0", "LOG_FORMAT": "json"})
    assert (settings.api_query_timeout_seconds, settings.log_format) == (0.0, "json")


# Secrets


SECRET_URL = "mysql+pymysql://castflow:p%40ss-w0rd@db:3306/castflow"


def test_repr_hides_keys_and_passwords():
    """repr(settings) (tracebacks, debug logs) shows neither key nor password, but says a key is set."""
    settings = Settings(api_key="full-secret-key-1", read_api_key="read-secret-key-1", database_url=SECRET_URL,
                        redis_url="redis://:redis-pass@cache:6379/0")
    text = repr(settings)
    for secret in ("full-secret-key-1", "read-secret-key-1", "p%40ss-w0rd", "p@ss-w0rd", "redis-pass"):
        assert secret not in text
    assert "api_key='***'" in text and "castflow:***@db:3306/castflow" in text


def test_secrets_lists_keys_and_passwords_as_written_and_decoded():
    """secrets() holds every value logs must mask, including the %-decoded form of a URL password."""
    settings = Settings(api_key="full-secret-key-1", database_url=SECRET_URL, redis_url="redis://:rp@cache:6379/0")
    assert set(settings.secrets()) == {"full-secret-key-1", "p%40ss-w0rd", "p@ss-w0rd", "rp"}
    assert Settings().secrets() == ()


@pytest.mark.parametrize(("url", "masked"), [
    (SECRET_URL, "mysql+pymysql://castflow:***@db:3306/castflow"),
    ("redis://:pw@cache:6379/0", "redis://:***@cache:6379/0"),
    ("mysql+pymysql://root@127.0.0.1:3306/castflow", "mysql+pymysql://root@127.0.0.1:3306/castflow"),
    ("sqlite:///data/castflow.db", "sqlite:///data/castflow.db"),
])
def test_mask_url_hides_only_the_password(url, masked):
    """mask_url replaces the password by *** and leaves URLs without one unchanged."""
    assert mask_url(url) == masked


@pytest.mark.parametrize(("name", "raw"), [
    ("UPLOAD_STORE", "/data/uploads"),
    ("UPLOAD_STORE", "s3://"),
    ("UPLOAD_STORE", "s3://Bad_Bucket/x"),
    ("UPLOAD_STORE", "gs://bucket/x"),
    ("S3_ENDPOINT_URL", "minio:9000"),
    ("S3_ADDRESSING_STYLE", "dns"),
    ("S3_TIMEOUT_SECONDS", "0"),
    ("S3_PART_MB", "4"),
])
def test_bad_upload_store_setting_names_the_variable(name, raw):
    """A malformed store URL, endpoint, addressing style, timeout or part size fails naming the variable."""
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: raw})


def test_s3_store_accepts_a_bucket_with_or_without_prefix():
    """s3://bucket and s3://bucket/some/prefix are both stores."""
    for url in ("s3://castflow-uploads", "s3://castflow.uploads/team-a/in"):
        assert Settings.from_env({"UPLOAD_STORE": url}).upload_store == url


def test_s3_settings_fall_back_to_the_usual_aws_variables():
    """Empty S3_* settings take AWS_ENDPOINT_URL_S3/AWS_ENDPOINT_URL, AWS_REGION/AWS_DEFAULT_REGION and the keys."""
    settings = Settings.from_env({"AWS_ENDPOINT_URL": "http://minio:9000", "AWS_DEFAULT_REGION": "eu-west-1",
                                  "AWS_REGION": "eu-central-1", "AWS_ACCESS_KEY_ID": "id",
                                  "AWS_SECRET_ACCESS_KEY": "secret-value"})
    assert (settings.s3_endpoint_url, settings.s3_region) == ("http://minio:9000", "eu-central-1")
    assert (settings.s3_access_key_id, settings.s3_secret_access_key) == ("id", "secret-value")


def test_castflow_s3_settings_win_over_aws_variables():
    """S3_ENDPOINT_URL and S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY are used before the AWS_* names."""
    settings = Settings.from_env({"S3_ENDPOINT_URL": "http://ceph:7480", "AWS_ENDPOINT_URL": "http://minio:9000",
                                  "S3_ACCESS_KEY_ID": "mine", "S3_SECRET_ACCESS_KEY": "my-secret",
                                  "AWS_ACCESS_KEY_ID": "theirs", "AWS_SECRET_ACCESS_KEY": "their-secret"})
    assert (settings.s3_endpoint_url, settings.s3_access_key_id) == ("http://ceph:7480", "mine")


def test_s3_key_id_without_secret_is_refused():
    """An access key id without its secret (or the reverse) fails at start."""
    with pytest.raises(SettingsError, match="S3_SECRET_ACCESS_KEY"):
        Settings.from_env({"S3_ACCESS_KEY_ID": "id"})


def test_s3_secret_is_hidden_and_listed_as_a_secret():
    """The S3 secret key never shows in repr and is among the values logs redact."""
    settings = Settings(s3_access_key_id="id", s3_secret_access_key="s3-secret-value")
    assert "s3-secret-value" not in repr(settings)
    assert "s3-secret-value" in settings.secrets()


@pytest.mark.parametrize(("raw", "expected"), [("1", True), (" ON ", True), ("yes", True), ("False", False),
                                               ("off", False), ("0", False)])
def test_yes_no_settings_are_parsed(raw, expected):
    """METRICS_ENABLED / METRICS_PUBLIC take 1/0, true/false, yes/no, on/off in any case."""
    assert Settings.from_env({"METRICS_ENABLED": raw}).metrics_enabled is expected
    assert Settings.from_env({"METRICS_PUBLIC": raw}).metrics_public is expected


def test_a_yes_no_setting_that_is_neither_names_the_variable():
    """A value that is not a yes/no value fails naming the setting."""
    with pytest.raises(SettingsError, match="METRICS_PUBLIC='maybe' is not a yes/no value"):
        Settings.from_env({"METRICS_PUBLIC": "maybe"})


def test_metrics_are_on_and_private_by_default():
    """Metrics are recorded unless turned off, and /metrics needs a key unless opened."""
    assert Settings().metrics_enabled is True and Settings().metrics_public is False
