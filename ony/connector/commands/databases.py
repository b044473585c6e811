"""Databases: SQL clients by the SQL they are given, redis-cli by command, dumps and restores,
and the migration tools (Django's manage.py, rails, alembic, prisma...)."""

from __future__ import annotations

import re

from ony.connector.actions import URL, Classification, Context, url_target, words
from ony.connector.commands.arguments import positional

SQL_DROP = re.compile(r"\b(drop|truncate)\b|\bdelete\s+from\s+\w+\s*(;|$)", re.I)
SQL_WRITE = re.compile(
    r"\b(insert|update|delete|alter|create|grant|revoke|merge|upsert|replace|copy|vacuum|"
    r"reindex|cluster|comment|lock|call|do)\b",
    re.I,
)
REDIS_DROP = frozenset({"flushall", "flushdb"})
REDIS_READ = words(
    "get mget keys scan info ping type ttl pttl exists hget hgetall hkeys hlen lrange llen "
    "scard smembers zrange zcard strlen dbsize memory config"
)


def db_client(name: str, args: list[str], context: Context) -> Classification:
    sql_flags = ("-c", "--command", "-e", "--execute", "--eval", "-q")
    sql = " ".join(args[i + 1] for i, a in enumerate(args[:-1]) if a in sql_flags)
    operands = positional(args, ("-h", "-p", "-U", "-d", "-u", "-P", "-f", "--host", *sql_flags))
    if name in ("sqlite3", "sqlite", "duckdb") and len(operands) > 1:
        sql = " ".join(operands[1:])
    database = next((p for p in operands if URL.match(p)), operands[0] if operands else "")
    target = f"{name} {url_target(database) if URL.match(database) else database}".strip()
    return _sql(sql, target)


def _sql(sql: str, target: str) -> Classification:
    if not sql.strip():
        return Classification("db.write", target)  # interactive or a file: anything may run
    if SQL_DROP.search(sql):
        return Classification("db.drop", target)
    if SQL_WRITE.search(sql):
        return Classification("db.write", target)
    return Classification("db.query", target)


def redis(name: str, args: list[str], context: Context) -> Classification:
    words = positional(args, ("-h", "-p", "-a", "-n", "-u", "--user", "--pass"))
    command = words[0].lower() if words else ""
    if command in REDIS_DROP:
        return Classification("db.drop", f"redis {command}")
    if command in REDIS_READ:
        return Classification("db.query", f"redis {command}")
    return Classification("db.write", f"redis {command}".strip())


def db_dump(name: str, args: list[str], context: Context) -> Classification:
    if name in ("dropdb", "dropuser"):
        return Classification("db.drop", name)
    if name in ("pg_restore", "createdb", "createuser", "mysqlimport"):
        return Classification("db.write", name)
    return Classification("db.query", name)


def django(args: list[str]) -> Classification:
    """``python manage.py ...``: ``args`` are what follows ``manage.py``."""
    sub = args[0] if args else ""
    if sub == "test":
        return Classification("test.run", "manage.py test")
    if sub in ("migrate",):
        return Classification("db.migrate", "manage.py migrate")
    if sub in ("flush", "reset_db", "sqlflush"):
        return Classification("db.drop", f"manage.py {sub}")
    if sub in ("dbshell", "shell", "shell_plus", "loaddata", "createsuperuser", "changepassword"):
        action = "identity.user_create" if sub == "createsuperuser" else "db.write"
        return Classification(action, f"manage.py {sub}")
    if sub in ("makemigrations", "check", "collectstatic", "compilemessages", "showmigrations"):
        return Classification("build.run", f"manage.py {sub}")
    return Classification("shell.exec", f"manage.py {sub}".strip())


def migration_tool(name: str, args: list[str], context: Context) -> Classification:
    words = " ".join(args)
    if re.search(r"\b(reset|drop|db:drop|db:reset|purge|clean)\b", words):
        return Classification("db.drop", f"{name} {words}"[:80])
    if re.search(r"\b(history|current|status|show|info|validate|heads|check)\b", words):
        return Classification("db.query", f"{name} {words}"[:80])
    if name == "prisma" and not re.search(r"\b(migrate|db)\b", words):
        return Classification("build.run", f"prisma {words}"[:80])
    return Classification("db.migrate", f"{name} {words}"[:80])


def rails(name: str, args: list[str], context: Context) -> Classification:
    words = " ".join(args)
    if re.search(r"db:(drop|reset|purge|schema:load)", words):
        return Classification("db.drop", f"{name} {words}")
    if "db:migrate" in words or "db:rollback" in words or "db:setup" in words:
        return Classification("db.migrate", f"{name} {words}")
    if re.search(r"\b(test|spec)\b", words):
        return Classification("test.run", f"{name} {words}")
    return Classification("shell.exec", f"{name} {words}"[:80])
