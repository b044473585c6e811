# A first production image: gunicorn serving Ony, static files by WhiteNoise.
# Run migrations with `docker compose run --rm web python manage.py migrate`
# (docker-compose.yml does it on start). Configuration: docs/configuration.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

RUN useradd --system --uid 10001 --home-dir /app ony
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# var/ holds run-time state (beat's schedule): the only folder the app writes.
RUN chown ony /app/var
# collectstatic needs settings to load; the development keys used for this one
# command are not baked into the image (nothing is written but static files).
RUN DEBUG=1 ONY_ENV_FILE= python manage.py collectstatic --noinput

USER ony
EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py"]
