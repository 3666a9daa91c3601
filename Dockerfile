# One image for every part of the product: `lim api`, `lim worker`, `lim migrate`, `lim keys`.
# Dependencies are installed exactly as pinned in constraints.txt, in a build stage, so the
# runtime image carries no compiler and no pip cache.
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/lim
WORKDIR /src
# Only the packages the product ships: no tests, virtualenvs or local data in the image.
COPY pyproject.toml constraints.txt ./
COPY workflows workflows
COPY activities activities
COPY api api
COPY worker worker
COPY infra infra
RUN /opt/lim/bin/pip install --constraint constraints.txt .

FROM python:3.11-slim

# A fixed, unprivileged user: Kubernetes' runAsNonRoot can check a numeric UID.
RUN useradd --system --uid 10001 --home-dir /var/lib/lim --create-home lim
COPY --from=build /opt/lim /opt/lim
ENV PATH=/opt/lim/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LIM_DATA_DIR=/var/lib/lim \
    LIM_API_HOST=0.0.0.0 \
    LIM_API_PORT=8080
USER 10001
WORKDIR /var/lib/lim
EXPOSE 8080
ENTRYPOINT ["lim"]
CMD ["api"]
