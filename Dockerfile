# syntax=docker/dockerfile:1
#
# One image for every coldbrew component. The console script `coldbrew` is the
# entrypoint; the command picks the component:
#   coldbrew serve --host 0.0.0.0   (default: everything in one process)
#   coldbrew gateway ...            (data plane: Host routing, activator)
#   coldbrew controller ...         (Service -> Revision -> Deployment reconciler)
#   coldbrew autoscaler ...         (KPA: metrics stream in, deployments/scale out)
# Ports: 8080 gateway traffic, 8081 admin / control API / health (/healthz).
# BASE: the base image of both stages (any Debian-like image with python3 >= 3.11, pip and
# useradd); the default is the pinned official image.

ARG BASE=python:3.11.11-slim-bookworm

# ---- build: wheels of the project and every dependency ----
FROM ${BASE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY coldbrew ./coldbrew
COPY gateway ./gateway
COPY activator ./activator
COPY autoscaler ./autoscaler
COPY rulebook ./rulebook
RUN pip wheel . --wheel-dir /wheels

# ---- runtime: install the wheels, nothing else ----
FROM ${BASE} AS runtime

# PIP_BREAK_SYSTEM_PACKAGES: a Debian base's own python3 refuses pip installs otherwise (PEP 668);
# the official python images are not marked, so it changes nothing there.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_BREAK_SYSTEM_PACKAGES=1 \
    HOME=/tmp

RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels coldbrew \
    && groupadd --system --gid 10001 coldbrew \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin coldbrew

WORKDIR /tmp
EXPOSE 8080 8081
USER 10001:10001

ENTRYPOINT ["coldbrew"]
CMD ["serve", "--host", "0.0.0.0"]
