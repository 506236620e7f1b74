# email-channels: the wheel, installed with the locked runtime dependencies in a slim image.
# Not built on the development machines (they have no container runtime); every step below is
# what `./dev` and the README's wheel check run there.

# -- build: the wheel, and a virtual environment holding exactly requirements.runtime.lock ------
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md requirements.lock requirements.runtime.lock ./
COPY src ./src
# The build backend (hatchling) comes from the lock too: no unpinned build isolation.
RUN python -m venv /opt/build \
    && /opt/build/bin/pip install --require-hashes --no-deps -r requirements.lock \
    && /opt/build/bin/pip wheel --no-deps --no-build-isolation -w /wheels .
# As tests/e2e/test_wheel_smoke.py installs it: pip refuses a lock that misses a dependency of
# one of its packages, `pip check` one that misses a dependency of the service.
RUN python -m venv /opt/email-channels \
    && /opt/email-channels/bin/pip install --require-hashes -r requirements.runtime.lock \
    && /opt/email-channels/bin/pip install --no-deps /wheels/*.whl \
    && /opt/email-channels/bin/pip check

# -- runtime: no compiler, no sources, not root -------------------------------------------------
FROM python:3.11-slim AS runtime
RUN useradd --system --uid 10001 --create-home --home-dir /srv/email-channels email-channels
COPY --from=build /opt/email-channels /opt/email-channels
ENV PATH=/opt/email-channels/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    EMAIL_CHANNELS_LOG_FORMAT=json
USER email-channels
WORKDIR /srv/email-channels
EXPOSE 8000
# Ready = the database answers. Python's urllib: the image has no curl.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=3).status != 200)"]
# SIGTERM (the default stop signal) drains requests in flight for up to 30 s: give the
# orchestrator's stop timeout at least 35 s (`docker stop -t 35`, terminationGracePeriodSeconds).
CMD ["email-channels", "serve", "--host", "0.0.0.0", "--port", "8000"]
