"""Shell commands -> actions: the rules for each command an agent may run.

``classify_shell`` reads a command line with ``ony.connector.shell``, classifies
every simple command, substitution and here-document fed to a shell, and
returns the riskiest. docs/connector.md lists the rules; the table in
tests/test_connector_classify.py holds them to it.

``COMMANDS`` maps each command's name to its handler, by family:
``files``, ``vcs``, ``packages``, ``databases``, ``cloud``, ``network``.
``walker`` reads the line and sees through shells, wrappers and
interpreters; it is given this registry, and the handler modules import
neither it nor this package.
"""

from __future__ import annotations

from collections.abc import Sequence

from ony.connector.actions import Classification, Context
from ony.connector.commands import cloud, databases, files, network, packages, vcs
from ony.connector.commands.arguments import Handler
from ony.connector.commands.walker import Walker, environment

__all__ = ["COMMANDS", "classify_shell"]


def _registry(entries: Sequence[tuple[str, Handler]]) -> dict[str, Handler]:
    """``{name: handler}`` from ``(names separated by spaces, handler)`` pairs."""
    return {name: handler for names, handler in entries for name in names.split()}


COMMANDS: dict[str, Handler] = _registry(
    [
        ("rm rmdir shred unlink srm trash", files.rm),
        ("cp mv install", files.copy),
        ("rsync scp sftp", network.transfer),
        ("mkdir touch ln chmod chown truncate patch", files.writes_files),
        ("sed gsed", files.sed),
        ("awk gawk mawk nawk", files.awk),
        ("find", files.find),
        ("tee", files.tee),
        ("git", vcs.git),
        ("npm yarn pnpm bun cargo go gem composer brew apt apt-get dnf", packages.package_manager),
        ("yum apk pacman twine mix dotnet swift flutter dart", packages.package_manager),
        ("pip uv poetry pipenv pdm hatch conda mamba", packages.pip),
        ("make gmake just task", packages.make),
        ("pytest py.test tox nox jest vitest mocha rspec phpunit ctest", packages.test_runner),
        ("karma ava playwright cypress unittest", packages.test_runner),
        ("tsc mvn gradle gradlew ./gradlew cmake ninja bazel webpack vite", packages.build_tool),
        ("esbuild rollup ruff mypy black isort flake8 pylint eslint prettier", packages.build_tool),
        ("rustfmt gofmt clang-format pre-commit biome", packages.build_tool),
        ("alembic flyway liquibase prisma knex sequelize goose migrate", databases.migration_tool),
        ("dbmate atlas sqitch", databases.migration_tool),
        ("rails rake", databases.rails),
        ("psql mysql mariadb sqlite3 sqlite mongo mongosh cqlsh", databases.db_client),
        ("clickhouse-client duckdb", databases.db_client),
        ("redis-cli valkey-cli", databases.redis),
        ("pg_dump pg_dumpall mysqldump mongodump pg_restore dropdb createdb", databases.db_dump),
        ("dropuser createuser mysqlimport mongorestore", databases.db_dump),
        ("curl wget http https xh httpie aria2c", network.http_client),
        ("nc ncat netcat socat telnet ftp", network.raw_socket),
        ("ssh mosh", network.ssh),
        ("terraform tofu terragrunt pulumi cdk cdktf", cloud.terraform),
        ("kubectl oc k", cloud.kubectl),
        ("helm", cloud.helm),
        ("aws gcloud az doctl", cloud.cloud_cli),
        ("docker podman", cloud.docker),
        ("vault op doppler infisical pass sops bw", cloud.vault),
        ("gh", vcs.gh),
        ("vercel netlify fly flyctl heroku railway render serverless sls", cloud.platform_deploy),
        ("ssh-keygen gpg openssl age-keygen useradd adduser usermod gpasswd chgrp", cloud.identity),
        ("setfacl visudo", cloud.identity),
        ("npx pnpx bunx uvx", packages.npx),
        ("bundle", packages.bundle),
        ("printenv export set declare", environment),
    ]
)


def classify_shell(command: str, context: Context) -> Classification:
    """The riskiest command ``command`` would run, its target fit to send."""
    return Walker(COMMANDS, context).classify(command)
