FROM python:3.11-slim
WORKDIR /app
# CCAAS_HOST: inside a container the API must listen on every interface, or a published port reaches nothing.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 CCAAS_MIGRATIONS_DIR=/app/migrations CCAAS_HOST=0.0.0.0
COPY pyproject.toml README.md alembic.ini ./
COPY src ./src
COPY migrations ./migrations
RUN pip install --no-cache-dir -e .
EXPOSE 8000
CMD ["ccaas-emulator", "serve"]
