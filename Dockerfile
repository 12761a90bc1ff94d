# Shelf API image: `docker build -t shelf .` then `docker run -p 8080:8080 -e SECRET_KEY=... shelf`.
# Two stages: the builder installs the locked dependencies and the app into a virtualenv;
# the runtime copies only that virtualenv, so no compiler, cache or source tree ships.

FROM python:3.11.14-slim-bookworm AS builder

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN pip install --no-cache-dir uv==0.13.8

WORKDIR /src
# Dependencies first, so a change to the code alone reuses this layer.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY src ./src
RUN uv sync --frozen --no-dev --no-editable

FROM python:3.11.14-slim-bookworm AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080

# A fixed numeric UID, so Kubernetes' runAsNonRoot can verify it without a passwd lookup.
RUN groupadd --system --gid 1001 shelf \
    && useradd --system --uid 1001 --gid shelf --home-dir /app --no-create-home shelf \
    && install -d -o 1001 -g 1001 /app /app/var

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
USER 1001:1001
EXPOSE 8080

# The runtime has no curl; the interpreter does the probe. /health touches no dependency.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8080'), timeout=2)"]

# The production server, exactly as `shelf serve` runs it outside a container.
CMD ["shelf", "serve"]
