# truenas-mcp: the MCP server for TrueNAS SCALE, with the generated tool catalogue.
#
#   docker build -t truenas-mcp .            (or: podman build --format docker -t truenas-mcp .)
#   docker run --rm -p 127.0.0.1:8080:8080 -v "$PWD/secrets:/run/secrets/truenas-mcp:ro" \
#     -e TRUENAS_URL=wss://nas.example.lan/api/current -e TRUENAS_USERNAME=mcp \
#     -e TRUENAS_API_KEY_FILE=/run/secrets/truenas-mcp/truenas-api-key \
#     -e TRUENAS_MCP_JWT_SECRET_FILE=/run/secrets/truenas-mcp/jwt-signing-key \
#     -e TRUENAS_MCP_JWT_AUDIENCE=http://localhost:8080/mcp truenas-mcp
#
# Two stages: the builder resolves and installs everything into a virtual environment; the runtime stage
# copies only that environment onto a fresh base, so no pip, compiler, build backend, source tree or
# build-time setting reaches the final image. Configuration is environment only (TRUENAS_* for the
# TrueNAS connection, TRUENAS_MCP_* for the server); secrets are files mounted at run time, never baked in.
# See deploy/README.md for compose, Kubernetes and offline builds.

# The base image; override for a mirror or a pinned digest (`--build-arg PYTHON_IMAGE=...@sha256:...`).
ARG PYTHON_IMAGE=docker.io/library/python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder

# Where pip finds packages. PyPI by default; a mirror with PIP_INDEX_URL, or fully offline from a
# wheelhouse mounted at build time: `podman build -v "$PWD/wheels:/mnt:ro" --build-arg PIP_FIND_LINKS=/mnt \
#   --build-arg PIP_NO_INDEX=1 .` (the wheelhouse must hold hatchling too). /mnt exists in the base image,
# so the mount point leaves no trace in either stage.
# These arguments exist in this stage only: the runtime stage never sees them.
ARG PIP_INDEX_URL=https://pypi.org/simple
ARG PIP_FIND_LINKS=
ARG PIP_NO_INDEX=0
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore

RUN python3 -m venv /opt/venv

WORKDIR /src
# Only what the two distributions are built from (see .dockerignore): the runtime `truenas-mcp` and the
# generated catalogue.
COPY pyproject.toml README.md ./
COPY src/ src/
COPY generator/ generator/
COPY templates/ templates/
COPY overrides/ overrides/
COPY generated/ generated/

# The generator ships in the same wheel as the runtime; a server image never generates, so the generator
# and its own largest dependencies are removed. Bytecode is compiled here, once: the runtime may run on a
# read-only root filesystem.
RUN /opt/venv/bin/pip install . ./generated \
    && /opt/venv/bin/truenas-mcp --version \
    && /opt/venv/bin/pip uninstall --yes datamodel-code-generator jinja2 ruff jsonschema-rs pip setuptools wheel \
    && rm -rf /opt/venv/bin/truenas-mcp-gen /opt/venv/lib/python3*/site-packages/truenas_mcp_gen \
    && /opt/venv/bin/python -m compileall -q -j 0 /opt/venv/lib

FROM ${PYTHON_IMAGE} AS runtime

# The official python image ships pip for interactive use; a server image has no use for it.
RUN rm -rf /usr/local/bin/pip* /usr/local/lib/python3*/site-packages/pip \
        /usr/local/lib/python3*/site-packages/pip-*.dist-info \
    && groupadd --system --gid 10001 truenas-mcp \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin truenas-mcp

COPY --from=builder /opt/venv /opt/venv

# Listen on all interfaces inside the container (the server's own default is loopback only). Host-header
# protection stays on: set TRUENAS_MCP_ALLOWED_HOSTS to the names clients use to reach the server.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TRUENAS_MCP_HOST=0.0.0.0 \
    TRUENAS_MCP_PORT=8080

# A numeric user, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 8080

# Liveness only (the process answers HTTP); whether TrueNAS is reachable is /readyz, which orchestrators
# use for routing. No curl in the image: the interpreter that is already there does the request.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('TRUENAS_MCP_PORT', '8080'), timeout=4)"]

ENTRYPOINT ["truenas-mcp"]
CMD ["serve"]

LABEL org.opencontainers.image.title="truenas-mcp" \
      org.opencontainers.image.description="TrueNAS SCALE API as MCP tools (streamable HTTP on /mcp)" \
      org.opencontainers.image.licenses="Apache-2.0"
