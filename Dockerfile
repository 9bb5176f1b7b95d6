# The service image: the runtime dependencies at the project's pinned versions, the source,
# a non-root user, uvicorn on port 80. Settings come from the environment (the ConfigMap).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# A user and group 1000 without a home, a password or a login shell. The numeric USER below
# lets Kubernetes' runAsNonRoot check it; the source stays owned by root, read-only to it.
RUN groupadd --system --gid 1000 service \
    && useradd --system --uid 1000 --gid 1000 --no-create-home --shell /usr/sbin/nologin service

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when the requirement files change.
# Only the runtime dependencies (requirements.txt), each at the version pinned in
# requirements-all.txt, which pins the whole set, test tools included.
COPY requirements.txt requirements-all.txt ./
RUN pip install -r requirements.txt -c requirements-all.txt

COPY src/ ./src/

USER 1000:1000
WORKDIR /app/src
EXPOSE 80

# --proxy-headers with --forwarded-allow-ips '*': the ingress controller's X-Forwarded-*
# headers are trusted (only the cluster can reach the pod). --timeout-graceful-shutdown:
# on SIGTERM, open requests get 15 s before the lifespan shutdown reports the engine tasks
# (kubernetes/stateful.yml's terminationGracePeriodSeconds covers both).
CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "80", "--proxy-headers", "--forwarded-allow-ips", "*", "--timeout-graceful-shutdown", "15"]
