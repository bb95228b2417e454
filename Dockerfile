# Podium's processes for docker-compose.yml (infra/): `podium worker`, `podium consumers`,
# `podium codec-server`, and the mail server and broker seeding the compose file runs.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY contracts contracts
COPY adapters adapters
COPY workflows workflows
COPY activities activities
COPY services services
COPY consumers consumers
COPY workers workers
COPY infra infra
COPY bench bench
COPY podium podium
# The workflow sandbox imports the workflow modules afresh for each run: compiled here, once.
RUN pip install '.[otlp]' \
    && python -m compileall -q /usr/local/lib/python3.11/site-packages

# An unprivileged account; /data holds a process's SQLite files and the mail server's folder,
# /seed the broker's seeded definitions (written as the broker's uid, 999).
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin podium \
    && install -d -o podium -g podium -m 0700 /data /data/mail \
    && install -d -o 999 -g 999 -m 0700 /seed
USER podium
WORKDIR /data

ENTRYPOINT ["podium"]
CMD ["worker"]
