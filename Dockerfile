FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when they change.
COPY requirements.txt requirements-all.txt ./
# Only the runtime dependencies, at the versions pinned for the whole project.
RUN pip install -r requirements.txt -c requirements-all.txt

COPY src/ ./src/

RUN useradd --create-home --uid 1000 service
USER 1000

WORKDIR /app/src
EXPOSE 80
CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "80", "--proxy-headers", "--forwarded-allow-ips", "*"]
