"""Accounts and privileges of one instance (the contents of mysql.user, mysql.db, mysql.tables_priv,
mysql.global_grants).

Why it exists: authentication (mysql_native_password), the privilege checks that produce errors 1045,
1227, 1142 and 1044, and SHOW GRANTS all read the same store; CLONE copies it (``snapshot``/``restore``)
because it copies the ``mysql`` schema.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass, field

from mysqlsim import errors

#: static privileges in the server's display order (SHOW GRANTS)
STATIC_PRIVILEGES: tuple[str, ...] = (
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "RELOAD",
    "SHUTDOWN",
    "PROCESS",
    "FILE",
    "REFERENCES",
    "INDEX",
    "ALTER",
    "SHOW DATABASES",
    "SUPER",
    "CREATE TEMPORARY TABLES",
    "LOCK TABLES",
    "EXECUTE",
    "REPLICATION SLAVE",
    "REPLICATION CLIENT",
    "CREATE VIEW",
    "SHOW VIEW",
    "CREATE ROUTINE",
    "ALTER ROUTINE",
    "CREATE USER",
    "EVENT",
    "TRIGGER",
    "CREATE TABLESPACE",
    "CREATE ROLE",
    "DROP ROLE",
)
#: privileges that exist at database level
DB_PRIVILEGES: tuple[str, ...] = (
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "REFERENCES",
    "INDEX",
    "ALTER",
    "CREATE TEMPORARY TABLES",
    "LOCK TABLES",
    "EXECUTE",
    "CREATE VIEW",
    "SHOW VIEW",
    "CREATE ROUTINE",
    "ALTER ROUTINE",
    "EVENT",
    "TRIGGER",
)
TABLE_PRIVILEGES: tuple[str, ...] = (
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "REFERENCES",
    "INDEX",
    "ALTER",
    "CREATE VIEW",
    "SHOW VIEW",
    "TRIGGER",
)
DYNAMIC_PRIVILEGES: frozenset[str] = frozenset(
    {
        "APPLICATION_PASSWORD_ADMIN",
        "AUDIT_ABORT_EXEMPT",
        "AUDIT_ADMIN",
        "AUTHENTICATION_POLICY_ADMIN",
        "BACKUP_ADMIN",
        "BINLOG_ADMIN",
        "BINLOG_ENCRYPTION_ADMIN",
        "CLONE_ADMIN",
        "CONNECTION_ADMIN",
        "ENCRYPTION_KEY_ADMIN",
        "FIREWALL_EXEMPT",
        "FLUSH_OPTIMIZER_COSTS",
        "FLUSH_STATUS",
        "FLUSH_TABLES",
        "FLUSH_USER_RESOURCES",
        "GROUP_REPLICATION_ADMIN",
        "GROUP_REPLICATION_STREAM",
        "INNODB_REDO_LOG_ARCHIVE",
        "INNODB_REDO_LOG_ENABLE",
        "PASSWORDLESS_USER_ADMIN",
        "PERSIST_RO_VARIABLES_ADMIN",
        "REPLICATION_APPLIER",
        "REPLICATION_SLAVE_ADMIN",
        "RESOURCE_GROUP_ADMIN",
        "RESOURCE_GROUP_USER",
        "ROLE_ADMIN",
        "SENSITIVE_VARIABLES_OBSERVER",
        "SERVICE_CONNECTION_ADMIN",
        "SESSION_VARIABLES_ADMIN",
        "SET_USER_ID",
        "SHOW_ROUTINE",
        "SYSTEM_USER",
        "SYSTEM_VARIABLES_ADMIN",
        "TABLE_ENCRYPTION_ADMIN",
        "TELEMETRY_LOG_ADMIN",
        "XA_RECOVER_ADMIN",
    }
)
#: dynamic privileges that exist only in 8.4 (FLUSH_PRIVILEGES, SET_ANY_DEFINER...) or only in 8.0
DYNAMIC_PRIVILEGES_84_ONLY = frozenset(
    {
        "FLUSH_PRIVILEGES",
        "SET_ANY_DEFINER",
        "ALLOW_NONEXISTENT_DEFINER",
        "TRANSACTION_GTID_TAG",
        "OPTIMIZE_LOCAL_TABLE",
    }
)
DYNAMIC_PRIVILEGES_80_ONLY = frozenset({"SET_USER_ID"})


def native_auth_string(password: str) -> str:
    """SHA1(SHA1(password)) as mysql_native_password stores it (without the leading '*')."""
    if password == "":
        return ""
    return hashlib.sha1(hashlib.sha1(password.encode()).digest()).hexdigest()


def _host_rx(pattern: str) -> re.Pattern[str]:
    out = []
    for ch in pattern:
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("^" + "".join(out) + "$", re.IGNORECASE)


@dataclass
class Account:
    user: str
    host: str
    auth_string: str = ""
    plugin: str = "mysql_native_password"
    global_privs: set[str] = field(default_factory=set)
    global_grant_option: bool = False
    db_privs: dict[str, set[str]] = field(default_factory=dict)
    db_grant_option: set[str] = field(default_factory=set)
    table_privs: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    table_grant_option: set[tuple[str, str]] = field(default_factory=set)
    locked: bool = False
    password_expired: bool = False
    attributes: str | None = None
    #: REQUIRE SSL / X509 (connections without TLS are refused with 1045)
    require_ssl: bool = False

    @property
    def ident(self) -> str:
        return f"'{self.user}'@'{self.host}'"

    def host_matches(self, client_host: str) -> bool:
        if self.host == "%":
            return True
        if self.host.lower() == client_host.lower():
            return True
        if self.host in ("localhost", "127.0.0.1", "::1") and client_host in (
            "localhost",
            "127.0.0.1",
            "::1",
        ):
            return True
        return bool(_host_rx(self.host).match(client_host))

    def specificity(self) -> tuple[int, int]:
        wild = "%" in self.host or "_" in self.host
        return (1 if wild else 0, -len(self.host.replace("%", "")))

    def has_global(self, privilege: str) -> bool:
        p = privilege.upper()
        return p in self.global_privs

    def has(self, privilege: str, schema: str | None, table: str | None = None) -> bool:
        p = privilege.upper()
        if p in self.global_privs:
            return True
        if schema is not None:
            for dbp, privs in self.db_privs.items():
                if p in privs and (
                    dbp == schema or (("%" in dbp or "_" in dbp) and _host_rx(dbp).match(schema))
                ):
                    return True
            if table is not None:
                privs2 = self.table_privs.get((schema, table.lower()))
                if privs2 and p in privs2:
                    return True
        return False

    def has_any_in_schema(self, schema: str) -> bool:
        if self.global_privs - DYNAMIC_PRIVILEGES:
            return True
        if any(dbp == schema for dbp in self.db_privs):
            return True
        return any(db == schema for db, _ in self.table_privs)


def _fmt_privs(privs: set[str], universe: tuple[str, ...]) -> str:
    ordered = [p for p in universe if p in privs]
    if set(universe) <= privs:
        return "ALL PRIVILEGES"
    return ", ".join(ordered) if ordered else "USAGE"


class AccountStore:
    """The accounts of one instance."""

    def __init__(self, version: tuple[int, int, int] = (8, 0, 36)) -> None:
        self.accounts: dict[tuple[str, str], Account] = {}
        self.version = version

    # --- lookup -----------------------------------------------------------------------------------
    def get(self, user: str, host: str) -> Account | None:
        return self.accounts.get((user, host.lower()))

    def match(self, user: str, client_host: str) -> Account | None:
        """The account a client ``user`` connecting from ``client_host`` authenticates as (most specific)."""
        cands = [a for (u, _), a in self.accounts.items() if u == user and a.host_matches(client_host)]
        if not cands:
            return None
        cands.sort(key=Account.specificity)
        return cands[0]

    def authenticate(self, user: str, client_host: str, password: str) -> Account | None:
        """The account when ``password`` is right (and the account is not locked), else None."""
        acc = self.match(user, client_host)
        if acc is None or acc.locked:
            return None
        if acc.auth_string != native_auth_string(password):
            return None
        return acc

    def has_global_privilege(self, user: str, client_host: str, privilege: str) -> bool:
        acc = self.match(user, client_host)
        return bool(acc and acc.has_global(privilege))

    def valid_dynamic(self) -> frozenset[str]:
        if self.version >= (8, 4, 0):
            return (DYNAMIC_PRIVILEGES - DYNAMIC_PRIVILEGES_80_ONLY) | DYNAMIC_PRIVILEGES_84_ONLY
        return DYNAMIC_PRIVILEGES

    def all_global(self) -> set[str]:
        return set(STATIC_PRIVILEGES) | set(self.valid_dynamic())

    # --- changes ----------------------------------------------------------------------------------
    def create(
        self,
        user: str,
        host: str,
        password: str | None = None,
        *,
        auth_string: str | None = None,
        plugin: str = "mysql_native_password",
    ) -> Account:
        acc = Account(user=user, host=host.lower() if host != "%" else "%", plugin=plugin)
        if auth_string is not None:
            acc.auth_string = auth_string
        elif password is not None:
            acc.auth_string = native_auth_string(password)
        self.accounts[(user, acc.host)] = acc
        return acc

    def drop(self, user: str, host: str) -> bool:
        return self.accounts.pop((user, host.lower() if host != "%" else "%"), None) is not None

    def grant(self, acc: Account, privs: list[str], schema: str, table: str, *, grant_option: bool) -> None:
        if schema == "*" and table == "*":
            if any(p in ("ALL", "ALL PRIVILEGES") for p in privs):
                acc.global_privs |= self.all_global()
            acc.global_privs |= {p for p in privs if p not in ("ALL", "ALL PRIVILEGES", "USAGE")}
            if grant_option:
                acc.global_grant_option = True
        elif table == "*":
            s = acc.db_privs.setdefault(schema, set())
            if any(p in ("ALL", "ALL PRIVILEGES") for p in privs):
                s |= set(DB_PRIVILEGES)
            s |= {p for p in privs if p not in ("ALL", "ALL PRIVILEGES", "USAGE")}
            if grant_option:
                acc.db_grant_option.add(schema)
        else:
            key = (schema, table.lower())
            s = acc.table_privs.setdefault(key, set())
            if any(p in ("ALL", "ALL PRIVILEGES") for p in privs):
                s |= set(TABLE_PRIVILEGES)
            s |= {p for p in privs if p not in ("ALL", "ALL PRIVILEGES", "USAGE")}
            if grant_option:
                acc.table_grant_option.add(key)

    def revoke(self, acc: Account, privs: list[str], schema: str, table: str, *, grant_option: bool) -> None:
        all_ = any(p in ("ALL", "ALL PRIVILEGES") for p in privs)
        if schema == "*" and table == "*":
            if all_:
                acc.global_privs -= set(STATIC_PRIVILEGES)
                acc.global_privs -= self.all_global()
            acc.global_privs -= set(privs)
            if grant_option or all_:
                acc.global_grant_option = grant_option and not all_ and acc.global_grant_option
                if grant_option:
                    acc.global_grant_option = False
        elif table == "*":
            if schema not in acc.db_privs:
                raise errors.nonexisting_grant(acc.user, acc.host)
            s = acc.db_privs[schema]
            if all_:
                s.clear()
            s -= set(privs)
            if grant_option:
                acc.db_grant_option.discard(schema)
            if not s:
                del acc.db_privs[schema]
        else:
            key = (schema, table.lower())
            if key not in acc.table_privs:
                raise errors.MySQLError(
                    1147,
                    "42000",
                    f"There is no such grant defined for user '{acc.user}' on host '{acc.host}' "
                    f"on table '{table}'",
                )
            s = acc.table_privs[key]
            if all_:
                s.clear()
            s -= set(privs)
            if grant_option:
                acc.table_grant_option.discard(key)
            if not s:
                del acc.table_privs[key]

    # --- SHOW GRANTS ------------------------------------------------------------------------------
    def show_grants(self, acc: Account) -> list[str]:
        to = f"`{acc.user}`@`{acc.host}`"
        lines: list[str] = []
        static = acc.global_privs & set(STATIC_PRIVILEGES)
        wgo = " WITH GRANT OPTION" if acc.global_grant_option else ""
        lines.append(f"GRANT {_fmt_privs(static, STATIC_PRIVILEGES)} ON *.* TO {to}{wgo}")
        dyn = sorted(acc.global_privs - set(STATIC_PRIVILEGES))
        if dyn:
            lines.append(f"GRANT {','.join(dyn)} ON *.* TO {to}{wgo}")
        for schema in sorted(acc.db_privs):
            w = " WITH GRANT OPTION" if schema in acc.db_grant_option else ""
            lines.append(
                f"GRANT {_fmt_privs(acc.db_privs[schema], DB_PRIVILEGES)} ON `{schema}`.* TO {to}{w}"
            )
        for schema, table in sorted(acc.table_privs):
            w = " WITH GRANT OPTION" if (schema, table) in acc.table_grant_option else ""
            lines.append(
                f"GRANT {_fmt_privs(acc.table_privs[(schema, table)], TABLE_PRIVILEGES)} "
                f"ON `{schema}`.`{table}` TO {to}{w}"
            )
        return lines

    # --- CLONE ------------------------------------------------------------------------------------
    def snapshot(self) -> dict[tuple[str, str], Account]:
        return copy.deepcopy(self.accounts)

    def restore(self, snap: dict[tuple[str, str], Account]) -> None:
        self.accounts = copy.deepcopy(snap)


PERCONA_CLUSTERSET_GRANTS: list[tuple[list[str], str, str]] = [
    (
        [
            "SELECT",
            "RELOAD",
            "SHUTDOWN",
            "PROCESS",
            "FILE",
            "REPLICATION SLAVE",
            "REPLICATION CLIENT",
            "CREATE USER",
            "EXECUTE",
        ],
        "*",
        "*",
    ),
    (
        [
            "BACKUP_ADMIN",
            "CLONE_ADMIN",
            "CONNECTION_ADMIN",
            "GROUP_REPLICATION_ADMIN",
            "REPLICATION_SLAVE_ADMIN",
            "REPLICATION_APPLIER",
            "PERSIST_RO_VARIABLES_ADMIN",
            "ROLE_ADMIN",
            "SESSION_VARIABLES_ADMIN",
            "SYSTEM_VARIABLES_ADMIN",
        ],
        "*",
        "*",
    ),
    (["INSERT", "UPDATE", "DELETE"], "mysql", "*"),
]
_METADATA_PRIVS = [
    "ALTER",
    "ALTER ROUTINE",
    "CREATE",
    "CREATE ROUTINE",
    "CREATE TEMPORARY TABLES",
    "CREATE VIEW",
    "DELETE",
    "DROP",
    "EVENT",
    "EXECUTE",
    "INDEX",
    "INSERT",
    "LOCK TABLES",
    "REFERENCES",
    "SHOW VIEW",
    "TRIGGER",
    "UPDATE",
]
for _schema in (
    "mysql_innodb_cluster_metadata",
    "mysql_innodb_cluster_metadata_bkp",
    "mysql_innodb_cluster_metadata_previous",
):
    PERCONA_CLUSTERSET_GRANTS.append((list(_METADATA_PRIVS), _schema, "*"))
