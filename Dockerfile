# syntax=docker/dockerfile:1
# The okr-operator image: `okr run` on python:3.11-slim, as uid 65532, nothing else.
# Build from the repository root:  docker build -t ghcr.io/okr-operator/okr-operator:0.1.0 .
#
# The base image is pinned to Python 3.11 on Debian bookworm (the versions the tests run
# on). Release builds should pin it by digest as well (--build-arg
# PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:...), kept current by Renovate/Dependabot.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtualenv with the operator and its pinned runtime dependencies only ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/okr \
 && /opt/okr/bin/pip install --quiet pip==25.3
WORKDIR /src
# Only what the wheel is built from (.dockerignore allow-lists the same files), so a
# change to tests or docs does not invalidate the dependency layer.
COPY constraints.txt pyproject.toml README.md ./
COPY operator/ operator/
# constraints.txt pins every transitive dependency to what the tests ran with; no
# extras, so pytest, mypy and friends stay out of the image.
RUN /opt/okr/bin/pip install --quiet -c constraints.txt . \
 && /opt/okr/bin/okr --version

# --- runtime: the same base, the virtualenv, a non-root user ---
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="okr-operator" \
      org.opencontainers.image.description="OKRs as Kubernetes resources, measured by Prometheus" \
      org.opencontainers.image.source="https://github.com/okr-operator/okr-operator" \
      org.opencontainers.image.licenses="Apache-2.0"
# Unbuffered: one JSON log line an event reaches `kubectl logs` at once. No bytecode
# writes: the chart mounts the root filesystem read-only (pip compiled it at install).
ENV PATH=/opt/okr/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY --from=build /opt/okr /opt/okr
# 65532 is the conventional "nonroot" uid (distroless); numeric so that Kubernetes'
# runAsNonRoot can verify it without an /etc/passwd entry.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["okr"]
CMD ["run", "--all-namespaces"]
