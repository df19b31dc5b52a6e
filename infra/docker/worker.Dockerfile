# syntax=docker/dockerfile:1
# Memo AI Coach worker image: `memoai worker` by default; the same image runs
# `memoai beat` and `memoai flower` with another command.
# Build from the repository root (the context .dockerignore allows only what
# the image needs):
#   docker build -f infra/docker/worker.Dockerfile -t memoai-worker .
# The base image is pinned to an exact Python and Debian release; to pin its
# digest as well, see docs/operations.md ("Images").

FROM python:3.11.14-slim-trixie AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies in their own layer: rebuilt only when the pins change.
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -c requirements.lock -r /tmp/requirements.txt
COPY README.md ./
COPY shared ./shared
COPY services ./services
# The wheel carries the example memos (pyproject force-include).
COPY examples/memos ./examples/memos
RUN pip install --no-deps .

FROM python:3.11.14-slim-trixie AS runtime
# pg_dump, pg_restore and psql for `memoai backup` / `memoai restore`: trixie's
# PostgreSQL 17 client, the same major version as the server image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/*
# No secrets here: keys arrive at run time as Docker secrets (*_FILE variables).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    APP_ENV=production \
    DATA_DIR=/data \
    CONFIG_DIR=/app/config \
    API_HOST=0.0.0.0 \
    WEB_HOST=0.0.0.0
RUN groupadd --gid 1000 memoai \
 && useradd --uid 1000 --gid 1000 --home-dir /app --no-create-home --shell /usr/sbin/nologin memoai \
 && mkdir -p /app /data \
 && chown 1000:1000 /data
COPY --from=build /opt/venv /opt/venv
COPY --chmod=0755 infra/docker/healthcheck.py /usr/local/bin/memoai-healthcheck
# Owned by the app user: the admin configuration editor writes these files, and a
# named volume mounted here starts as a copy of them.
COPY --chown=1000:1000 config /app/config
WORKDIR /app
USER 1000:1000
ENV WORKER_METRICS_PORT=9808
# Prometheus scrapes the worker here.
EXPOSE 9808
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["memoai-healthcheck", "worker"]
# Celery's warm shutdown: SIGTERM lets running evaluations finish.
STOPSIGNAL SIGTERM
CMD ["memoai", "worker"]
