FROM python:3.11-slim
WORKDIR /app
# CCAAS_HOST: inside a container the API must listen on every interface, or a published port reaches nothing.
# So `serve` needs CCAAS_CONTROL_TOKEN (it refuses to start without one): docker run -e CCAAS_CONTROL_TOKEN=<secret>.
# No default here: a secret baked into the image would be known to everyone who has the image.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 CCAAS_HOST=0.0.0.0
COPY pyproject.toml README.md ./
COPY src ./src
# A regular (not editable) install: the package carries all it runs, the Alembic migrations included; the
# source tree is removed so that nothing in the image reads it by mistake.
RUN pip install --no-cache-dir . && rm -rf src build
EXPOSE 8000 8443
CMD ["ccaas-emulator", "serve"]
