# qa-service API: CPU-only, offline, non-root. Build: `docker compose build`; run: `docker compose up -d`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1

WORKDIR /app

# Same order as `make setup`: torch first, pinned, from the CPU-only index, so that sentence-transformers
# finds it satisfied and no CUDA wheels (several GB) are pulled in.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# Dependencies in their own layer (a stub package stands in for the code), so code changes rebuild fast.
COPY pyproject.toml README.md ./
RUN mkdir qa_service && touch qa_service/__init__.py \
    && pip install . \
    && pip uninstall -y qa-service \
    && rm -rf qa_service build

COPY qa_service ./qa_service
RUN pip install --no-deps . && rm -rf build

# Default articles for a first start without the compose mount; compose mounts ./seeds over them read-only.
COPY seeds ./seeds

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin qa \
    && mkdir -p /app/index \
    && chown qa:qa /app/index
USER qa

# The ONNX file the default embedding back-end runs, made from the packaged weights now rather than at each new
# container's first start (it lands in the image under ~qa/.cache/qa-service/onnx; see README "How it works"),
# as `make setup` does.
RUN qa-service prepare

ENV QA_INDEX_DIR=/app/index \
    QA_SEEDS_DIR=/app/seeds \
    QA_PORT=8000
VOLUME ["/app/index"]
EXPOSE 8000

# python's urllib, not curl: the slim image has no curl. Non-2xx raises, so the exit status is non-zero.
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]

# Binding all interfaces is right inside a container (the host publishes the port); the default is 127.0.0.1.
CMD ["qa-service", "serve", "--host", "0.0.0.0", "--port", "8000"]
