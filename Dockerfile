# The labflows image for the Docker and ECS work pool variants in prefect.yaml: the checkout in
# /opt/labflows with its dependencies, so a worker's pull step can `set_working_directory` there.
#   docker build -t labflows .        (prefect deploy builds it with prefect-docker's build step)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LABFLOWS_SCRATCH=/tmp/labflows-scratch

# bash for workflows with `shell: bash`; procps so timeouts can stop process trees
RUN apt-get update \
    && apt-get install -y --no-install-recommends bash procps ca-certificates \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/labflows

# Dependencies first: this layer is rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
RUN pip install --no-deps -e . \
    && useradd --create-home --uid 1000 labflows \
    && mkdir -p .labflows "$LABFLOWS_SCRATCH" \
    && chown -R labflows .labflows "$LABFLOWS_SCRATCH"

USER labflows
CMD ["python", "-m", "flows.run", "--help"]
