# syntax=docker/dockerfile:1
# Memo AI Coach web UI (`memoai web`).
# Build from the repository root (the context .dockerignore allows only what
# the image needs):
#   docker build -f infra/docker/web.Dockerfile -t memoai-web .
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

# Front-end packages (fonts, Markdown, sanitiser and diff libraries, esbuild)
# from npm, and the UI bundled and minified once (`npm run build`, the same
# step as `make install`); nothing third-party is committed to the repository
# and the running image needs neither Node nor node_modules.
FROM node:20.19.5-trixie-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY services ./services
RUN npm run build

FROM python:3.11.14-slim-trixie AS runtime
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
# The web service looks for build/web in its working directory: the bundle,
# its compressed copies, the fonts and the libraries.
COPY --from=assets /src/build/web /app/build/web
WORKDIR /app
USER 1000:1000
ENV WEB_PORT=3000 \
    API_URL=http://api:8000
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["memoai-healthcheck", "web"]
CMD ["memoai", "web"]
