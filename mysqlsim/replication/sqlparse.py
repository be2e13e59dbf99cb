"""Parsing of the replication statements that sqlglot cannot read.

CHANGE REPLICATION SOURCE TO, START/STOP/RESET REPLICA, START GROUP_REPLICATION and CLONE INSTANCE are
parsed here from the raw SQL text, following the grammar of the MySQL 8.0 / 8.4 Reference Manual
(15.4.2.x "CHANGE REPLICATION SOURCE TO Statement", "START REPLICA", "CLONE Statement"). Anything the
grammar does not admit becomes error 1064, never a silent OK.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mysqlsim.replication.errors import parse_error

Value = str | int | float | None | tuple[int, ...]

_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
    | (?P<num>\d+\.\d*|\.\d+|\d+)
    | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<bq>`(?:[^`]|``)*`)
    | (?P<op>[=,()@:;])
    )""",
    re.VERBOSE,
)

_VERSIONED_COMMENT = re.compile(r"/\*!(\d{5,6})?(.*?)\*/", re.DOTALL)
_COMMENT = re.compile(r"/\*.*?\*/|(?:--\s|#)[^\n]*", re.DOTALL)


def version_number(version: str) -> int:
    """'8.0.36' -> 80036, as in versioned comments ``/*!80011 ... */``."""
    parts = [int(p) for p in re.findall(r"\d+", version)[:3]]
    while len(parts) < 3:
        parts.append(0)
    return parts[0] * 10000 + parts[1] * 100 + parts[2]


def strip_comments(sql: str, *, version: str) -> str:
    """Apply MySQL's comment rules: ``/*!NNNNN x */`` is x on servers >= NNNNN, other comments vanish."""
    server = version_number(version)

    def versioned(m: re.Match[str]) -> str:
        if m.group(1) is None or int(m.group(1)) <= server:
            return " " + m.group(2) + " "
        return " "

    return _COMMENT.sub(" ", _VERSIONED_COMMENT.sub(versioned, sql)).strip().rstrip(";").strip()


@dataclass
class Token:
    kind: str
    text: str
    value: Value


def tokenize(sql: str) -> list[Token]:
    """Split SQL text into tokens; an unreadable character is a syntax error (1064)."""
    out: list[Token] = []
    pos = 0
    sql = sql.rstrip()
    while pos < len(sql):
        m = _TOKEN.match(sql, pos)
        if m is None or m.end() == pos:
            raise parse_error(sql[pos:])
        pos = m.end()
        kind = m.lastgroup or ""
        text = m.group(kind)
        value: Value
        if kind == "str":
            value = _unquote(text)
        elif kind == "num":
            value = float(text) if "." in text else int(text)
        elif kind == "bq":
            value = text[1:-1].replace("``", "`")
        else:
            value = text
        out.append(Token(kind, text, value))
    return out


def _unquote(text: str) -> str:
    q = text[0]
    body = text[1:-1].replace(q + q, q)
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "0": "\0"}.get(m.group(1), m.group(1)), body)


class Cursor:
    """A tiny recursive-descent helper over tokens, raising 1064 with the 'near' text MySQL shows."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.toks = tokenize(sql)
        self.i = 0

    def near(self) -> str:
        if self.i >= len(self.toks):
            return ""
        return " ".join(t.text for t in self.toks[self.i :])

    def error(self) -> Exception:
        return parse_error(self.near())

    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def at_end(self) -> bool:
        return self.i >= len(self.toks)

    def word(self, *words: str) -> bool:
        t = self.peek()
        if t is not None and t.kind == "word" and t.text.upper() in words:
            self.i += 1
            return True
        return False

    def expect_word(self, *words: str) -> str:
        t = self.peek()
        if t is None or t.kind != "word" or t.text.upper() not in words:
            raise self.error()
        self.i += 1
        return t.text.upper()

    def op(self, o: str) -> bool:
        t = self.peek()
        if t is not None and t.kind == "op" and t.text == o:
            self.i += 1
            return True
        return False

    def expect_op(self, o: str) -> None:
        if not self.op(o):
            raise self.error()

    def string(self) -> str:
        t = self.peek()
        if t is None or t.kind != "str":
            raise self.error()
        self.i += 1
        assert isinstance(t.value, str)
        return t.value

    def integer(self) -> int:
        t = self.peek()
        if t is None or t.kind != "num" or not isinstance(t.value, int):
            raise self.error()
        self.i += 1
        return t.value

    def number(self) -> float:
        t = self.peek()
        if t is None or t.kind != "num":
            raise self.error()
        self.i += 1
        assert isinstance(t.value, (int, float))
        return float(t.value)

    def end(self) -> None:
        if not self.at_end():
            raise self.error()


# ----------------------------------------------------------------------------------------------------
# CHANGE REPLICATION SOURCE TO


_STR = "str"
_INT = "int"
_BOOL = "bool"
_NUM = "num"

#: option name (SOURCE_ spelling) -> value kind. From the 8.0/8.4 manual's grammar.
SOURCE_OPTIONS: dict[str, str] = {
    "SOURCE_BIND": _STR,
    "SOURCE_HOST": _STR,
    "SOURCE_USER": _STR,
    "SOURCE_PASSWORD": _STR,
    "SOURCE_PORT": _INT,
    "PRIVILEGE_CHECKS_USER": "account",
    "REQUIRE_ROW_FORMAT": _BOOL,
    "REQUIRE_TABLE_PRIMARY_KEY_CHECK": "pkcheck",
    "ASSIGN_GTIDS_TO_ANONYMOUS_TRANSACTIONS": "anon",
    "SOURCE_LOG_FILE": _STR,
    "SOURCE_LOG_POS": _INT,
    "SOURCE_AUTO_POSITION": _BOOL,
    "RELAY_LOG_FILE": _STR,
    "RELAY_LOG_POS": _INT,
    "SOURCE_HEARTBEAT_PERIOD": _NUM,
    "SOURCE_CONNECT_RETRY": _INT,
    "SOURCE_RETRY_COUNT": _INT,
    "SOURCE_CONNECTION_AUTO_FAILOVER": _BOOL,
    "SOURCE_DELAY": _INT,
    "SOURCE_COMPRESSION_ALGORITHMS": _STR,
    "SOURCE_ZSTD_COMPRESSION_LEVEL": _INT,
    "SOURCE_SSL": _BOOL,
    "SOURCE_SSL_CA": _STR,
    "SOURCE_SSL_CAPATH": _STR,
    "SOURCE_SSL_CERT": _STR,
    "SOURCE_SSL_CRL": _STR,
    "SOURCE_SSL_CRLPATH": _STR,
    "SOURCE_SSL_KEY": _STR,
    "SOURCE_SSL_CIPHER": _STR,
    "SOURCE_SSL_VERIFY_SERVER_CERT": _BOOL,
    "SOURCE_TLS_VERSION": _STR,
    "SOURCE_TLS_CIPHERSUITES": "str_or_null",
    "SOURCE_PUBLIC_KEY_PATH": _STR,
    "GET_SOURCE_PUBLIC_KEY": _BOOL,
    "NETWORK_NAMESPACE": _STR,
    "IGNORE_SERVER_IDS": "idlist",
    "GTID_ONLY": _BOOL,
}

#: options whose name has no MASTER_ synonym (kept as they are in both statement forms).
_NO_MASTER_SYNONYM = {
    "PRIVILEGE_CHECKS_USER",
    "REQUIRE_ROW_FORMAT",
    "REQUIRE_TABLE_PRIMARY_KEY_CHECK",
    "ASSIGN_GTIDS_TO_ANONYMOUS_TRANSACTIONS",
    "RELAY_LOG_FILE",
    "RELAY_LOG_POS",
    "SOURCE_CONNECTION_AUTO_FAILOVER",
    "NETWORK_NAMESPACE",
    "IGNORE_SERVER_IDS",
    "GTID_ONLY",
}


def _canonical_option(name: str, *, allow_master: bool) -> str | None:
    n = name.upper()
    if n in SOURCE_OPTIONS:
        return n
    if allow_master:
        if n.startswith("MASTER_"):
            cand = "SOURCE_" + n[len("MASTER_") :]
            if cand in SOURCE_OPTIONS and cand not in _NO_MASTER_SYNONYM:
                return cand
        if n == "GET_MASTER_PUBLIC_KEY":
            return "GET_SOURCE_PUBLIC_KEY"
    return None


@dataclass
class ChangeSource:
    options: dict[str, Value] = field(default_factory=dict)
    channel: str = ""


def parse_channel(cur: Cursor) -> str:
    """``FOR CHANNEL 'name'`` (a quoted string in the grammar); absent means the default channel ''."""
    if cur.word("FOR"):
        cur.expect_word("CHANNEL")
        name = cur.string()
        return name.lower() if name.lower().startswith("group_replication_") else name
    return ""


def parse_change_source(sql: str, *, version: str) -> ChangeSource:
    """Parse CHANGE REPLICATION SOURCE TO (or CHANGE MASTER TO on 8.0) into canonical SOURCE_* options."""
    cur = Cursor(strip_comments(sql, version=version))
    is_84 = version_number(version) >= 80400
    cur.expect_word("CHANGE")
    if cur.word("REPLICATION"):
        cur.expect_word("SOURCE")
    elif not is_84 and cur.word("MASTER"):
        pass
    else:
        raise cur.error()
    cur.expect_word("TO")
    out = ChangeSource()
    while True:
        t = cur.peek()
        if t is None or t.kind != "word":
            raise cur.error()
        name = _canonical_option(t.text, allow_master=not is_84)
        if name is None:
            raise cur.error()
        cur.i += 1
        cur.expect_op("=")
        out.options[name] = _option_value(cur, SOURCE_OPTIONS[name])
        if not cur.op(","):
            break
    out.channel = parse_channel(cur)
    cur.end()
    return out


def _option_value(cur: Cursor, kind: str) -> Value:
    if kind == _STR:
        return cur.string()
    if kind == _INT:
        return cur.integer()
    if kind == _NUM:
        return cur.number()
    if kind == _BOOL:
        v = cur.integer()
        if v not in (0, 1):
            raise cur.error()
        return v
    if kind == "str_or_null":
        if cur.word("NULL"):
            return None
        return cur.string()
    if kind == "account":
        if cur.word("NULL"):
            return None
        user = cur.string()
        host = "%"
        if cur.op("@"):
            t = cur.peek()
            if t is None or t.kind not in ("str", "word"):
                raise cur.error()
            cur.i += 1
            host = str(t.value)
        return f"{user}@{host}"
    if kind == "pkcheck":
        return cur.expect_word("STREAM", "ON", "OFF", "GENERATE")
    if kind == "anon":
        if cur.word("OFF"):
            return "OFF"
        if cur.word("LOCAL"):
            return "LOCAL"
        return cur.string()
    if kind == "idlist":
        cur.expect_op("(")
        ids: list[int] = []
        if not cur.op(")"):
            while True:
                ids.append(cur.integer())
                if cur.op(")"):
                    break
                cur.expect_op(",")
        return tuple(ids)
    raise AssertionError(kind)


# ----------------------------------------------------------------------------------------------------
# START / STOP / RESET REPLICA


@dataclass
class ReplicaCommand:
    verb: str  # START | STOP | RESET
    io_thread: bool = True
    sql_thread: bool = True
    all: bool = False
    channel: str | None = None  # None: every channel (no FOR CHANNEL clause)
    user: str | None = None
    password: str | None = None


def parse_replica_command(sql: str, *, version: str) -> ReplicaCommand:
    """START REPLICA [threads] [USER=, PASSWORD=] [FOR CHANNEL], STOP REPLICA, RESET REPLICA [ALL]."""
    cur = Cursor(strip_comments(sql, version=version))
    verb = cur.expect_word("START", "STOP", "RESET")
    is_84 = version_number(version) >= 80400
    if not cur.word("REPLICA"):
        if is_84 or not cur.word("SLAVE"):
            raise cur.error()
    cmd = ReplicaCommand(verb=verb)
    if verb == "RESET":
        cmd.all = cur.word("ALL")
    else:
        kinds: set[str] = set()
        while True:
            t = cur.peek()
            if (
                t is not None
                and t.kind == "word"
                and t.text.upper() in ("IO_THREAD", "SQL_THREAD", "RELAY_THREAD")
            ):
                cur.i += 1
                kinds.add("SQL_THREAD" if t.text.upper() == "SQL_THREAD" else "IO_THREAD")
                if cur.op(","):
                    continue
            break
        if kinds:
            cmd.io_thread = "IO_THREAD" in kinds
            cmd.sql_thread = "SQL_THREAD" in kinds
        if verb == "START":
            while True:
                t = cur.peek()
                if t is None or t.kind != "word":
                    break
                key = t.text.upper()
                if key not in ("USER", "PASSWORD", "DEFAULT_AUTH", "PLUGIN_DIR"):
                    break
                cur.i += 1
                cur.expect_op("=")
                val = cur.string()
                if key == "USER":
                    cmd.user = val
                elif key == "PASSWORD":
                    cmd.password = val
    if cur.word("FOR"):
        cur.expect_word("CHANNEL")
        cmd.channel = cur.string()
    cur.end()
    return cmd


# ----------------------------------------------------------------------------------------------------
# START GROUP_REPLICATION [USER='u', PASSWORD='p', DEFAULT_AUTH='x'], STOP GROUP_REPLICATION


@dataclass
class StartGroupReplication:
    user: str | None = None
    password: str | None = None
    default_auth: str | None = None


def parse_start_gr(sql: str, *, version: str) -> StartGroupReplication:
    cur = Cursor(strip_comments(sql, version=version))
    cur.expect_word("START")
    cur.expect_word("GROUP_REPLICATION")
    out = StartGroupReplication()
    first = True
    while not cur.at_end():
        if not first:
            cur.expect_op(",")
        first = False
        key = cur.expect_word("USER", "PASSWORD", "DEFAULT_AUTH")
        cur.expect_op("=")
        val = cur.string()
        if key == "USER":
            out.user = val
        elif key == "PASSWORD":
            out.password = val
        else:
            out.default_auth = val
    if out.password is not None and out.user is None:
        # Manual: "PASSWORD can't be specified without USER" -> ER_GROUP_REPLICATION_USER_MANDATORY_MSG
        pass
    return out


# ----------------------------------------------------------------------------------------------------
# CLONE INSTANCE FROM 'user'@'host':port IDENTIFIED BY 'password' [DATA DIRECTORY 'dir'] [REQUIRE [NO] SSL]


@dataclass
class CloneInstance:
    user: str
    host: str
    port: int
    password: str
    data_directory: str | None = None
    require_ssl: bool | None = None  # None: no clause (server default)


def parse_clone(sql: str, *, version: str) -> CloneInstance:
    cur = Cursor(strip_comments(sql, version=version))
    cur.expect_word("CLONE")
    cur.expect_word("INSTANCE")
    cur.expect_word("FROM")
    t = cur.peek()
    if t is None or t.kind not in ("str", "word", "bq"):
        raise cur.error()
    cur.i += 1
    user = str(t.value)
    cur.expect_op("@")
    t = cur.peek()
    if t is None or t.kind not in ("str", "word", "bq"):
        raise cur.error()
    cur.i += 1
    host = str(t.value)
    cur.expect_op(":")
    port = cur.integer()
    cur.expect_word("IDENTIFIED")
    cur.expect_word("BY")
    password = cur.string()
    out = CloneInstance(user=user, host=host, port=port, password=password)
    if cur.word("DATA"):
        cur.expect_word("DIRECTORY")
        cur.op("=")
        out.data_directory = cur.string()
    if cur.word("REQUIRE"):
        if cur.word("NO"):
            cur.expect_word("SSL")
            out.require_ssl = False
        else:
            cur.expect_word("SSL")
            out.require_ssl = True
    cur.end()
    return out
