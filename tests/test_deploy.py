"""The deployment files (Dockerfile, docker-compose.yml, .env, .dockerignore), read and their commands run.

There is no Docker engine in the test environment: the files are parsed, and the commands they name
are started with this project's interpreter, as the containers would start them.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
import time
import tomllib
import urllib.request
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from common.config import KEY_RECIPE, Settings, SettingsError, read_env_file
from common.queue import ETL_QUEUE, FORECAST_QUEUE
from common.schema import mysql_ddl
from services.local import WORKERS, free_port

ROOT = Path(__file__).resolve().parents[1]
SETTING_NAMES = frozenset(f.name.upper() for f in fields(Settings))

#: The start commands of DESIGN.md ("How each part starts"), per docker-compose service.
API_COMMAND = "gunicorn 'services.api:create_app()' -b 0.0.0.0:5000"
START_COMMANDS = {
    "api": API_COMMAND,
    "etl-worker": "python -m services.etl",
    "forecast-worker": "python -m services.forecast",
}
APP_SERVICES = tuple(START_COMMANDS)
#: `${NAME}`, `${NAME:-default}` or `${NAME:?error}` in the compose file; `$$` escapes a dollar (container shell).
COMPOSE_VARIABLE = re.compile(r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>[^}]*)\}")
#: A key as a deployer would generate it (KEY_RECIPE).
DEPLOY_KEY = "Zk3pQ9vX2mB7nR4tW8yC1dF6gH0jL5sA"


class ComposeRefuses(Exception):
    """`${NAME:?error}` met an unset or empty NAME: docker compose stops with the error."""


@pytest.fixture(scope="module")
def compose() -> dict:
    """docker-compose.yml, parsed (YAML merge keys resolved)."""
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dotenv() -> dict[str, str]:
    """The shipped .env, parsed the way castflow parses it."""
    return read_env_file(ROOT / ".env")


@pytest.fixture(scope="module")
def deploy_env(dotenv: dict[str, str]) -> dict[str, str]:
    """The shipped .env plus the API_KEY a deployer must add before compose starts."""
    return {**dotenv, "API_KEY": DEPLOY_KEY}


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    instructions, pending = [], ""
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, args = pending.strip().partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        pending = ""
    return instructions


def argv(command: str | list[str]) -> list[str]:
    """A compose or Dockerfile command (string or exec form) as an argument list."""
    return shlex.split(command) if isinstance(command, str) else list(command)


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${NAME}` / `${NAME:-default}` / `${NAME:?error}` substitution, with `env` as the .env file."""

    def substitute(match: re.Match) -> str:
        name, rest = match["name"], match["rest"]
        assert rest == "" or rest.startswith((":-", ":?")), f"unsupported form ${{{name}{rest}}}"
        if rest.startswith(":?") and not env.get(name):
            raise ComposeRefuses(f"required variable {name} is missing a value: {rest[2:]}")
        return env.get(name) or ("" if rest.startswith(":?") else rest[2:])

    return COMPOSE_VARIABLE.sub(substitute, value)


def app_environment(compose: dict, service: str, env: dict[str, str]) -> dict[str, str]:
    """The environment compose gives `service`, with .env's values substituted."""
    return {key: interpolate(str(value), env) for key, value in compose["services"][service]["environment"].items()}


def last(instructions: list[tuple[str, str]], keyword: str) -> str:
    """The arguments of the last `keyword` instruction."""
    values = [args for kw, args in instructions if kw == keyword]
    assert values, f"no {keyword} in the Dockerfile"
    return values[-1]


def child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment for a castflow process: no .env file, no inherited setting, SQLite under tmp_path."""
    env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    env.update(CASTFLOW_ENV_FILE="", DATABASE_URL=f"sqlite:///{tmp_path / 'castflow.db'}",
               UPLOAD_DIR=str(tmp_path / "uploads"), REDIS_URL="redis://127.0.0.1:1/0", **extra)
    return env


# docker-compose.yml


def test_compose_has_exactly_its_seven_services(compose: dict):
    """The compose file defines mysql, redis, minio (+ its bucket setup), api, etl-worker and forecast-worker."""
    assert set(compose["services"]) == {"mysql", "redis", "minio", "minio-setup", "api", "etl-worker",
                                        "forecast-worker"}


@pytest.mark.parametrize("service", APP_SERVICES)
def test_compose_command_is_the_design_start_command(compose: dict, service: str):
    """Each platform service starts with the command DESIGN.md gives for it."""
    assert argv(compose["services"][service]["command"]) == shlex.split(START_COMMANDS[service])


def test_compose_workers_are_the_modules_the_local_run_starts(compose: dict):
    """The worker services run the same `python -m` modules as the one-command local run."""
    modules = [argv(compose["services"][name]["command"])[2] for name in ("etl-worker", "forecast-worker")]
    assert modules == list(WORKERS)


@pytest.mark.parametrize("service", APP_SERVICES)
def test_compose_platform_services_share_one_image(compose: dict, service: str):
    """The API and the workers are built from the project's one Dockerfile."""
    assert compose["services"][service]["build"] == "."


def test_mysql_runs_the_sql_directory_at_init(compose: dict):
    """mysql mounts ./sql read-only as /docker-entrypoint-initdb.d."""
    mounts = [volume.split(":") for volume in compose["services"]["mysql"]["volumes"]]
    assert ["./sql", "/docker-entrypoint-initdb.d", "ro"] in mounts


def test_mysql_keeps_its_data_in_a_named_volume(compose: dict):
    """mysql's data directory is a named volume declared at the top level."""
    mounts = dict(volume.split(":")[:2][::-1] for volume in compose["services"]["mysql"]["volumes"])
    assert mounts["/var/lib/mysql"] in compose["volumes"]


def test_mysql_healthcheck_pings_over_tcp(compose: dict):
    """mysql's healthcheck is mysqladmin ping on 127.0.0.1 (the init-time server listens on no port)."""
    test = " ".join(argv(compose["services"]["mysql"]["healthcheck"]["test"]))
    assert "mysqladmin ping" in test
    assert "-h 127.0.0.1" in test


def test_mysql_allows_load_data_local_infile(compose: dict):
    """mysql starts with --local-infile=1, which the ETL's bulk load needs."""
    assert "--local-infile=1" in argv(compose["services"]["mysql"]["command"])


def test_mysql_defaults_to_utf8mb4(compose: dict):
    """mysql's server character set is utf8mb4."""
    assert "--character-set-server=utf8mb4" in argv(compose["services"]["mysql"]["command"])


def test_redis_healthcheck_pings(compose: dict):
    """redis's healthcheck is redis-cli ping."""
    assert argv(compose["services"]["redis"]["healthcheck"]["test"]) == ["CMD", "redis-cli", "ping"]


@pytest.mark.parametrize("service", APP_SERVICES)
def test_platform_service_waits_for_healthy_mysql_and_redis_and_the_bucket(compose: dict, service: str):
    """The API and each worker start only once mysql and redis report healthy and the bucket exists."""
    depends = compose["services"][service]["depends_on"]
    assert depends == {"mysql": {"condition": "service_healthy"}, "redis": {"condition": "service_healthy"},
                       "minio-setup": {"condition": "service_completed_successfully"}}


@pytest.mark.parametrize("service", APP_SERVICES)
def test_platform_service_restarts_unless_stopped(compose: dict, service: str):
    """The API and the workers come back after a crash or a reboot."""
    assert compose["services"][service]["restart"] == "unless-stopped"


@pytest.mark.parametrize("service", ["etl-worker", "forecast-worker"])
def test_worker_is_scalable(compose: dict, service: str):
    """A worker has no container_name and publishes no port, so `--scale` can run several."""
    assert "container_name" not in compose["services"][service]
    assert "ports" not in compose["services"][service]


def test_api_publishes_port_5000(compose: dict):
    """The API is reachable on the host's port 5000."""
    assert compose["services"]["api"]["ports"] == ["5000:5000"]


@pytest.mark.parametrize("service", APP_SERVICES)
def test_platform_service_keeps_uploads_in_minio_and_shares_no_disk(compose: dict, deploy_env: dict[str, str],
                                                                   service: str):
    """The API and the workers use the minio service's bucket with its root credentials, and mount no volume."""
    settings = Settings.from_env(app_environment(compose, service, deploy_env))
    assert (settings.upload_store, settings.s3_endpoint_url) == ("s3://castflow-uploads/uploads", "http://minio:9000")
    assert (settings.s3_access_key_id, settings.s3_secret_access_key) == (
        deploy_env["MINIO_ROOT_USER"], deploy_env["MINIO_ROOT_PASSWORD"])
    assert "volumes" not in compose["services"][service]


def test_minio_image_tags_are_pinned(compose: dict):
    """MinIO and its client run pinned releases, never `latest`."""
    for service in ("minio", "minio-setup"):
        assert re.fullmatch(r"minio/(minio|mc):RELEASE\.[0-9TZ-]+", compose["services"][service]["image"])


def test_minio_keeps_its_data_in_a_named_volume_and_reports_health(compose: dict):
    """MinIO's objects survive a restart (named volume); its healthcheck gates the bucket setup."""
    minio = compose["services"]["minio"]
    assert minio["volumes"] == ["minio-data:/data"] and "minio-data" in compose["volumes"]
    assert argv(minio["healthcheck"]["test"]) == ["CMD", "mc", "ready", "local"]
    assert compose["services"]["minio-setup"]["depends_on"] == {"minio": {"condition": "service_healthy"}}


def test_minio_setup_creates_the_bucket_the_store_names(compose: dict, deploy_env: dict[str, str]):
    """The setup job creates (idempotently) the very bucket UPLOAD_STORE names."""
    bucket = app_environment(compose, "api", deploy_env)["UPLOAD_STORE"].removeprefix("s3://").split("/")[0]
    script = " ".join(argv(compose["services"]["minio-setup"]["command"]))
    assert f"mc mb --ignore-existing store/{bucket}" in script


def test_every_compose_variable_is_defined_in_env(dotenv: dict[str, str]):
    """Each `${VAR}` in docker-compose.yml has a line in .env."""
    used = {m["name"] for m in COMPOSE_VARIABLE.finditer((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))}
    assert used, "no variables found: the pattern is broken"
    assert used - set(dotenv) == set()


@pytest.mark.parametrize("service", APP_SERVICES)
def test_compose_passes_only_settings_fields(compose: dict, service: str):
    """Every variable compose gives a platform service is a Settings field (or CASTFLOW_ENV_FILE)."""
    passed = set(compose["services"][service]["environment"]) - {"CASTFLOW_ENV_FILE"}
    assert passed - SETTING_NAMES == set()


@pytest.mark.parametrize("service", APP_SERVICES)
def test_compose_containers_read_no_env_file(compose: dict, service: str):
    """CASTFLOW_ENV_FILE is empty in the containers: their configuration is exactly compose's environment."""
    assert compose["services"][service]["environment"]["CASTFLOW_ENV_FILE"] == ""


def test_compose_environment_gives_valid_settings(compose: dict, dotenv: dict[str, str], deploy_env: dict[str, str]):
    """The API's environment, with .env (plus an API_KEY) substituted, is valid and points at the mysql service."""
    env = app_environment(compose, "api", deploy_env)
    settings = Settings.from_env(env)
    assert settings.database_url == (f"mysql+pymysql://{dotenv['MYSQL_USER']}:{dotenv['MYSQL_PASSWORD']}"
                                     f"@mysql:3306/{dotenv['MYSQL_DATABASE']}")
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.max_rejected_share == float(dotenv["MAX_REJECTED_SHARE"])


def test_compose_environment_defaults_are_settings_defaults(compose: dict):
    """Without a .env the `${VAR:-default}` fallbacks give the same values as Settings' own defaults."""
    env = app_environment(compose, "api", {"API_KEY": DEPLOY_KEY})
    deliberate = ("DATABASE_URL", "REDIS_URL", "UPLOAD_STORE", "S3_ENDPOINT_URL", "S3_ACCESS_KEY_ID",
                  "S3_SECRET_ACCESS_KEY", "CASTFLOW_ENV_FILE", "CASTFLOW_ENV", "API_KEY", "LOG_FORMAT")
    passed = {k: v for k, v in env.items() if k not in deliberate}
    settings, defaults = Settings.from_env(passed), Settings()
    assert {k: getattr(settings, k.lower()) for k in passed} == {k: getattr(defaults, k.lower()) for k in passed}


def test_compose_refuses_to_start_without_an_api_key(compose: dict, dotenv: dict[str, str]):
    """With the shipped .env (API_KEY empty) compose stops before starting anything, saying how to make a key."""
    assert dotenv["API_KEY"] == ""
    for service in APP_SERVICES:
        with pytest.raises(ComposeRefuses) as caught:
            app_environment(compose, service, dotenv)
        assert "API_KEY" in str(caught.value) and "secrets.token_urlsafe(32)" in str(caught.value)


def test_compose_runs_production_with_json_logs(compose: dict, deploy_env: dict[str, str]):
    """The containers run with CASTFLOW_ENV=production and LOG_FORMAT=json, whatever .env says."""
    settings = Settings.from_env(app_environment(compose, "api", {**deploy_env, "CASTFLOW_ENV": "development"}))
    assert settings.is_production and settings.log_format == "json"
    assert settings.api_key == DEPLOY_KEY


def test_compose_environment_refuses_a_short_api_key(compose: dict, deploy_env: dict[str, str]):
    """A short API_KEY passes compose but not castflow's production check, which names API_KEY."""
    env = app_environment(compose, "api", {**deploy_env, "API_KEY": "short"})
    with pytest.raises(SettingsError, match="^API_KEY is shorter than 16 characters"):
        Settings.from_env(env)


@pytest.mark.parametrize("service", APP_SERVICES[1:])
def test_workers_get_the_same_environment_as_the_api(compose: dict, service: str):
    """The workers see exactly the API's settings (same database, Redis, upload store and limits)."""
    assert compose["services"][service]["environment"] == compose["services"]["api"]["environment"]


# .env


def test_env_file_yields_valid_settings(dotenv: dict[str, str]):
    """The shipped .env parses with read_env_file and its values are accepted by Settings."""
    Settings.from_env(dotenv).validate()


def test_env_file_leaves_the_local_run_on_its_embedded_defaults(dotenv: dict[str, str]):
    """.env sets no DATABASE_URL, REDIS_URL, UPLOAD_DIR or UPLOAD_STORE: the local run keeps SQLite, a local Redis
    and the upload directory."""
    assert {"DATABASE_URL", "REDIS_URL", "UPLOAD_DIR", "UPLOAD_STORE"} & set(dotenv) == set()


def test_env_file_mysql_keys_are_ignored_by_settings(dotenv: dict[str, str]):
    """The MYSQL_* lines (for the mysql container) change nothing in castflow's Settings."""
    assert any(key.startswith("MYSQL_") for key in dotenv)
    assert Settings.from_env(dotenv) == Settings.from_env({k: v for k, v in dotenv.items() if k in SETTING_NAMES})


def test_env_file_api_key_is_present_and_empty(dotenv: dict[str, str]):
    """API_KEY is listed (so a deployer sees it) and empty in the development file."""
    assert dotenv["API_KEY"] == ""


def test_env_file_is_for_development_only(dotenv: dict[str, str]):
    """.env says it is development-only, sets CASTFLOW_ENV=development, and shows how to generate a key."""
    text = (ROOT / ".env").read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("# castflow settings for DEVELOPMENT ONLY")
    assert dotenv["CASTFLOW_ENV"] == "development"
    assert KEY_RECIPE.replace("python ", "python3 ") in text


def test_shipped_env_file_starts_the_local_run(monkeypatch: pytest.MonkeyPatch):
    """`python3 dev.py run` reads the shipped .env: it must give valid development settings with no key."""
    from common.config import load_settings

    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CASTFLOW_ENV_FILE", str(ROOT / ".env"))
    settings = load_settings()
    assert not settings.is_production and settings.api_key == ""


def test_env_file_documents_every_line():
    """Each KEY=value line of .env has a comment line right above it."""
    lines = (ROOT / ".env").read_text(encoding="utf-8").splitlines()
    undocumented = [line for above, line in zip(["", *lines], lines, strict=False)
                    if line.strip() and not line.startswith("#") and not above.startswith("#")]
    assert undocumented == []


def test_env_file_commented_examples_are_valid_settings():
    """The commented `# KEY=value` examples for a local run are valid settings when uncommented."""
    examples = {}
    for line in (ROOT / ".env").read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"#\s*([A-Z_]+)=(\S+)", line.strip())
        if match and match[1] in SETTING_NAMES:
            examples[match[1]] = match[2]
    assert "DATABASE_URL" in examples and "REDIS_URL" in examples
    Settings.from_env(examples)


# Dockerfile and .dockerignore


def test_dockerfile_cmd_is_the_api_start_command(dockerfile: list[tuple[str, str]]):
    """The image's default command is DESIGN.md's API command (exec form)."""
    assert json.loads(last(dockerfile, "CMD")) == shlex.split(API_COMMAND)


def test_dockerfile_sets_production(dockerfile: list[tuple[str, str]]):
    """The image runs in production mode (no part starts without a key) and reads no .env file."""
    env = dict(item.split("=", 1) for item in shlex.split(" ".join(args for kw, args in dockerfile if kw == "ENV")))
    assert env["CASTFLOW_ENV"] == "production" and env["CASTFLOW_ENV_FILE"] == ""


def test_dockerfile_runs_as_non_root(dockerfile: list[tuple[str, str]]):
    """The image's last USER is neither root nor uid 0."""
    assert last(dockerfile, "USER").split(":")[0] not in ("root", "0")


def test_dockerfile_base_is_python_311_slim(dockerfile: list[tuple[str, str]]):
    """The image starts from python:3.11-slim, the oldest Python pyproject.toml supports."""
    assert last(dockerfile, "FROM") == "python:3.11-slim"


def test_dockerfile_installs_dependencies_before_the_code(dockerfile: list[tuple[str, str]]):
    """pyproject.toml is copied and installed before the code, so code edits reuse the dependency layer."""
    copies = [args for kw, args in dockerfile if kw == "COPY"]
    assert copies.index("pyproject.toml ./") < copies.index(". .")


def test_dockerfile_copies_the_project_into_the_workdir(dockerfile: list[tuple[str, str]]):
    """The code lands in WORKDIR, so gunicorn finds gunicorn.conf.py in its working directory."""
    keywords = [(kw, args) for kw, args in dockerfile if kw in ("WORKDIR", "COPY")]
    assert keywords[0][0] == "WORKDIR" and ("COPY", ". .") in keywords
    assert [kw for kw, _ in keywords].count("WORKDIR") == 1


def test_dockerfile_dependency_command_prints_the_dependencies(dockerfile: list[tuple[str, str]], tmp_path: Path):
    """The Dockerfile's `python -c` that lists pyproject's dependencies prints exactly them."""
    run = next(args for kw, args in dockerfile if kw == "RUN" and "tomllib" in args)
    code = re.search(r'python -c "(.+?)"', run)[1]
    (tmp_path / "pyproject.toml").write_bytes((ROOT / "pyproject.toml").read_bytes())
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    assert result.stdout.splitlines() == expected


def test_dockerfile_upload_dir_is_a_directory_the_image_makes(dockerfile: list[tuple[str, str]], compose: dict):
    """Without UPLOAD_STORE (a plain `docker run`) uploads go to the image's UPLOAD_DIR, which it creates; compose
    sets a bucket instead and leaves UPLOAD_DIR alone."""
    env = shlex.split(" ".join(args for kw, args in dockerfile if kw == "ENV"))
    image_env = dict(item.split("=", 1) for item in env)
    assert any(f"mkdir -p {image_env['UPLOAD_DIR']}" in args for kw, args in dockerfile if kw == "RUN")
    assert "UPLOAD_DIR" not in compose["services"]["api"]["environment"]
    assert image_env["CASTFLOW_ENV_FILE"] == ""


def test_dockerignore_keeps_secrets_and_local_state_out():
    """.dockerignore excludes .env, .venv, .git and data/ from the build context."""
    patterns = read_dockerignore()
    assert {".env", ".venv", ".git", "data"} <= set(patterns)


@pytest.mark.parametrize("path", ["pyproject.toml", "gunicorn.conf.py", "common/config.py", "services/api/__init__.py",
                                  "sql/schema.sql", "frontend/plain/index.html"])
def test_dockerignore_keeps_what_the_image_needs(path: str):
    """No .dockerignore pattern drops a file the image runs on."""
    parts = Path(path).parts
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    assert [p for p in read_dockerignore() if any(fnmatch.fnmatch(prefix, p) for prefix in prefixes)] == []


def read_dockerignore() -> list[str]:
    """The patterns of .dockerignore (comments and blank lines dropped)."""
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip().removeprefix("**/") for line in lines if line.strip() and not line.startswith("#")]


# The commands really start


def test_api_command_loads_the_app(tmp_path: Path):
    """`gunicorn --check-config 'services.api:create_app()'` loads the app from the project root and exits 0."""
    result = subprocess.run([sys.executable, "-m", "gunicorn", "--check-config", "services.api:create_app()"],
                            cwd=ROOT, env=child_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]


def test_api_command_loads_the_app_in_production_with_a_key(tmp_path: Path):
    """In production, with a long API_KEY, the API's command loads the app."""
    result = subprocess.run([sys.executable, "-m", "gunicorn", "--check-config", "services.api:create_app()"],
                            cwd=ROOT, env=child_env(tmp_path, CASTFLOW_ENV="production", API_KEY=DEPLOY_KEY),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.parametrize("command", [
    ["-m", "gunicorn", "--check-config", "services.api:create_app()"],
    ["-m", "services.etl"],
    ["-m", "services.forecast"],
])
@pytest.mark.parametrize(("key", "reason"), [
    (None, "API_KEY is required when CASTFLOW_ENV=production"),
    ("short-key", "API_KEY is shorter than 16 characters"),
])
def test_production_refuses_to_start_without_a_good_key(tmp_path: Path, command: list[str], key: str | None,
                                                        reason: str):
    """The API and both workers exit at once in production without a long API_KEY, naming it and the recipe."""
    extra = {"CASTFLOW_ENV": "production", **({"API_KEY": key} if key else {})}
    result = subprocess.run([sys.executable, *command], cwd=ROOT, env=child_env(tmp_path, **extra),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert reason in result.stderr and KEY_RECIPE in result.stderr


def test_api_command_reads_gunicorn_conf_from_the_project_root(tmp_path: Path):
    """Started in the project root, gunicorn applies gunicorn.conf.py (gthread workers, 300 s timeout)."""
    result = subprocess.run([sys.executable, "-m", "gunicorn", "--print-config", "services.api:create_app()"],
                            cwd=ROOT, env=child_env(tmp_path, WEB_WORKERS="3"), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    config = dict(re.findall(r"^(\w+)\s+= (.*)$", result.stdout, flags=re.MULTILINE))
    assert (config["worker_class"], config["timeout"], config["workers"]) == ("gthread", "300", "3")


def test_api_healthcheck_passes_against_the_running_api(compose: dict, tmp_path: Path):
    """The api service's healthcheck command succeeds against the real API, even with API_KEY set."""
    port = free_port()
    command = argv(compose["services"]["api"]["healthcheck"]["test"])
    assert command[:3] == ["CMD", "python", "-c"] and "127.0.0.1:5000/health" in command[3]
    log = tmp_path / "api.log"
    with log.open("wb") as out:
        api = subprocess.Popen([sys.executable, "-m", "gunicorn", "services.api:create_app()",
                                "-b", f"127.0.0.1:{port}"], cwd=ROOT, env=child_env(tmp_path, API_KEY="a-key"),
                               stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", api, log)
        check = command[3].replace("127.0.0.1:5000", f"127.0.0.1:{port}")
        assert subprocess.run([sys.executable, "-c", check], timeout=30).returncode == 0
    finally:
        api.terminate()
        api.wait(timeout=30)


def test_api_logs_json_lines_without_secrets(tmp_path: Path):
    """With LOG_FORMAT=json gunicorn's and the app's records are JSON lines; no key or password appears."""
    port, redis_password = free_port(), "redis-pass-Q7w2"
    log = tmp_path / "api.log"
    env = {**child_env(tmp_path, API_KEY=DEPLOY_KEY, LOG_FORMAT="json", WEB_WORKERS="1"),
           "REDIS_URL": f"redis://:{redis_password}@127.0.0.1:1/0"}
    with log.open("wb") as out:
        api = subprocess.Popen([sys.executable, "-m", "gunicorn", "services.api:create_app()",
                                "-b", f"127.0.0.1:{port}"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", api, log)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/metadata", headers={"X-API-Key": DEPLOY_KEY})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
    finally:
        api.terminate()
        api.wait(timeout=30)
    text = log.read_text(encoding="utf-8")
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    loggers = {entry["logger"] for entry in entries}
    assert {"gunicorn.error", "gunicorn.access", "services.api"} <= loggers
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in entries)
    assert DEPLOY_KEY not in text and redis_password not in text


def wait_for_http(url: str, process: subprocess.Popen, log: Path, timeout_s: float = 60) -> None:
    """Wait until `url` answers, failing early with the log when `process` exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the API exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout_s:.0f} s")


def worker_main_call(module: str) -> str:
    """The source of what `python -m <module>` runs under `if __name__ == "__main__":`."""
    spec = importlib.util.find_spec(f"{module}.__main__")
    assert spec is not None and spec.origin is not None, f"{module} has no __main__"
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    guards = [node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) in
              ("__name__ == '__main__'", '__name__ == "__main__"')]
    assert len(guards) == 1, f"{module}.__main__ needs one `if __name__ == '__main__':` block"
    return "\n".join(ast.unparse(statement) for statement in guards[0].body)


def test_etl_worker_module_runs_the_etl_queue():
    """`python -m services.etl` runs the shared RQ worker on queue `etl`."""
    assert ETL_QUEUE == "etl"
    assert worker_main_call("services.etl") == "run_worker(ETL_QUEUE)"


def test_forecast_worker_module_runs_the_forecast_queue():
    """`python -m services.forecast` runs the shared RQ worker on queue `forecast`."""
    assert FORECAST_QUEUE == "forecast"
    assert worker_main_call("services.forecast").splitlines()[-1] == "run_worker(FORECAST_QUEUE)"


# sql/


def test_schema_file_is_the_generated_ddl():
    """sql/schema.sql (the mysql container's init) is the current output of `python -m common.schema`."""
    assert (ROOT / "sql" / "schema.sql").read_text(encoding="utf-8") == mysql_ddl()
