# One image for every part of castflow. The API and the workers differ only in their start command
# (docker-compose.yml sets it per service), as in Redash:
#   API              gunicorn 'services.api:create_app()' -b 0.0.0.0:5000   (the default CMD)
#   ETL worker       python -m services.etl        (also sends webhooks: queue `webhooks`, taken first)
#   forecast worker  python -m services.forecast   (also sends webhooks)
# Every dependency ships a binary wheel for Linux (prophet bundles its compiled Stan model and
# CmdStan, pyarrow, statsmodels, cryptography...), so no compiler is installed.
FROM python:3.11-slim

# Configuration comes from the environment only (compose builds it): no .env file is read, and
# .dockerignore keeps the development .env out of the image. The image is for deployments: production
# mode makes every part refuse to start without an API_KEY of 16 characters or more.
ENV CASTFLOW_ENV=production \
    CASTFLOW_ENV_FILE="" \
    UPLOAD_DIR=/data/uploads \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The project root: gunicorn reads gunicorn.conf.py from the working directory.
WORKDIR /app

RUN useradd --system --user-group --uid 10001 --create-home --home-dir /home/castflow castflow

# Dependencies first, from pyproject.toml alone: this layer is rebuilt only when they change.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
    && pip install -r requirements.txt \
    && rm requirements.txt

# Then the code, installed in place so that the project root (frontend/, data/) is /app. The upload
# store and the SQLite fallback (used only without DATABASE_URL) must be writable by the service
# user; a named volume mounted on /data/uploads at its first use takes this directory's ownership.
COPY . .
RUN pip install --no-deps -e . \
    && mkdir -p /data/uploads /app/data \
    && chown castflow:castflow /data/uploads /app/data

USER castflow

EXPOSE 5000

# No HEALTHCHECK here: the workers run this image too and serve no HTTP. The api service's
# healthcheck in docker-compose.yml asks GET /health.
CMD ["gunicorn", "services.api:create_app()", "-b", "0.0.0.0:5000"]
