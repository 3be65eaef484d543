# Domestique app image: Python 3.13 on Debian trixie (the same release as the development root).
FROM python:3.13-slim-trixie

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DOMESTIQUE_DATA_DIR=/data \
    DOMESTIQUE_BACKUP_DIR=/backups

# pg_dump/pg_restore for backups, of the same PostgreSQL major as the database image in
# compose.yaml (a test reads both); tzdata for the owner's time zone.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-17 tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 1000 --user-group --create-home --shell /usr/sbin/nologin domestique \
 && mkdir -p /data /backups && chown domestique:domestique /data /backups

WORKDIR /app
# Dependencies first (cached until the lock changes): every package, its dependencies and the
# build backend exactly as locked, each file checked against its hash (make lock writes it).
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
# The package itself, built with the locked setuptools: nothing is fetched here.
RUN pip install --no-deps --no-index --no-build-isolation --editable . \
 && python -m compileall -q app

USER domestique
EXPOSE 8000
VOLUME ["/data", "/backups"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
# One worker: the scheduler lives in this process. Migrations run before serving.
CMD ["domestique", "serve", "--host", "0.0.0.0", "--port", "8000"]
