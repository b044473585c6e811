"""The stress run (``make test-stress``): load with faults, then proof that nothing went wrong.

Two gunicorn web nodes with the shipped ``gunicorn.conf.py``, a Celery worker
with beat, a Redis of the run's own, a PostgreSQL database of the run's own
(``ony_stress``, made afresh) and the telephony simulator answering calls
with a scripted mix of keypresses. Hundreds of connector clients (the SDK in
threads, and real ``ony hook claude-code`` processes for a sample) ask for a
mix of risks while the run restarts Redis, kills the worker, makes
PostgreSQL refuse the database for ten seconds and kills a web node. Then
``checks`` proves what must hold, and the run prints its figures.

Loopback only, bounded in clients and time, and it stops by itself. See
docs/reliability.md.
"""
