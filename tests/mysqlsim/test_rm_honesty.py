"""Issue 3, Build 10 (honesty): what a server does not have, or a statement it cannot parse, gets MySQL's
own error with the manual's number, SQLSTATE and message, never a silent OK or NULL (error reference,
RM B.3 'Server Error Message Reference')."""

from __future__ import annotations

from typing import Any

import pytest
from rm_helpers import expect_sql_error, q


@pytest.fixture
def ep(world: Any) -> Any:
    return world.member("src", 0)


def test_garbage_statement_is_1064(ep: Any) -> None:
    """ER_PARSE_ERROR 1064 (42000) "You have an error in your SQL syntax; check the manual that corresponds to
    your MySQL server version for the right syntax to use near '...' at line 1"."""
    expect_sql_error(
        ep,
        "FROBNICATE THE SERVER",
        1064,
        "42000",
        r"^You have an error in your SQL syntax; check the manual that corresponds to your MySQL "
        r"server version "
        r"for the right syntax to use near 'FROBNICATE THE SERVER' at line 1$",
    )


def test_truncated_statement_is_1064(ep: Any) -> None:
    """ER_PARSE_ERROR 1064 for an incomplete statement; the 'near' part is empty at the end of input."""
    expect_sql_error(ep, "SELECT * FROM", 1064, "42000", r"near '' at line 1$")


def test_misspelled_replication_statement_is_1064(ep: Any) -> None:
    """ER_PARSE_ERROR 1064: a near-miss of a replication statement is not silently accepted."""
    expect_sql_error(ep, "START GROUP_REPLICATIONS", 1064, "42000")


def test_unknown_system_variable_is_1193(ep: Any) -> None:
    """RM 7.1.9 / ER_UNKNOWN_SYSTEM_VARIABLE 1193 (HY000) "Unknown system variable 'no_such_variable'":
    reading a variable that does not exist is an error, not NULL."""
    expect_sql_error(
        ep, "SELECT @@no_such_variable", 1193, "HY000", r"^Unknown system variable 'no_such_variable'$"
    )


def test_set_unknown_system_variable_is_1193(ep: Any) -> None:
    """ER_UNKNOWN_SYSTEM_VARIABLE 1193 on SET GLOBAL of a variable that does not exist."""
    expect_sql_error(ep, "SET GLOBAL no_such_variable = 1", 1193, "HY000", r"'no_such_variable'")


def test_unknown_performance_schema_table_is_1146(ep: Any) -> None:
    """ER_NO_SUCH_TABLE 1146 (42S02) "Table 'performance_schema.no_such_table' doesn't exist"."""
    expect_sql_error(
        ep,
        "SELECT * FROM performance_schema.no_such_table",
        1146,
        "42S02",
        r"^Table 'performance_schema.no_such_table' doesn't exist$",
    )


def test_unknown_user_table_is_1146(ep: Any) -> None:
    """ER_NO_SUCH_TABLE 1146 for a user schema's missing table, also with a column list."""
    expect_sql_error(ep, "SELECT id FROM app.nope", 1146, "42S02", r"^Table 'app.nope' doesn't exist$")


def test_unknown_mysql_table_is_1146(ep: Any) -> None:
    """ER_NO_SUCH_TABLE 1146 in the mysql schema."""
    expect_sql_error(ep, "SELECT * FROM mysql.no_such_grants", 1146, "42S02", r"mysql.no_such_grants")


def test_unknown_function_is_1305(ep: Any) -> None:
    """ER_SP_DOES_NOT_EXIST 1305 (42000) "FUNCTION app.no_such_function does not exist" (with a default
    database, the name is qualified by it)."""
    expect_sql_error(
        ep,
        "SELECT no_such_function(1)",
        1305,
        "42000",
        r"^FUNCTION app.no_such_function does not exist$",
        database="app",
    )


def test_unknown_group_replication_like_function_is_1305(ep: Any) -> None:
    """ER_SP_DOES_NOT_EXIST 1305 for a function name that looks like a replication UDF but is not one."""
    expect_sql_error(
        ep,
        "SELECT group_replication_frobnicate('x')",
        1305,
        "42000",
        r"FUNCTION app.group_replication_frobnicate does not exist",
        database="app",
    )


def test_call_unknown_procedure_is_1305(ep: Any) -> None:
    """ER_SP_DOES_NOT_EXIST 1305 "PROCEDURE app.no_such_proc does not exist"."""
    expect_sql_error(
        ep, "CALL app.no_such_proc()", 1305, "42000", r"^PROCEDURE app.no_such_proc does not exist$"
    )


def test_group_replication_functions_absent_without_plugin(world: Any) -> None:
    """RM 20.5.1 / 14.18.1: the Group Replication functions are loadable functions installed with the
    plugin; on a server without the plugin they do not exist (1305). Uses cln3, the instance kept for
    precondition errors, where Group Replication is not running."""
    ep = world.member("cln3", 0)
    if q(ep, "SELECT * FROM information_schema.plugins WHERE PLUGIN_NAME = 'group_replication'"):
        q(ep, "UNINSTALL PLUGIN group_replication")
    expect_sql_error(
        ep,
        "SELECT group_replication_set_as_primary('x')",
        1305,
        "42000",
        r"FUNCTION mysql.group_replication_set_as_primary does not exist",
        database="mysql",
    )


def test_show_unknown_is_1064(ep: Any) -> None:
    """ER_PARSE_ERROR 1064 for SHOW of something that does not exist."""
    expect_sql_error(ep, "SHOW FROBS", 1064, "42000")


def test_no_database_selected_is_1046(ep: Any) -> None:
    """ER_NO_DB_ERROR 1046 (3D000) "No database selected" for an unqualified table without a default
    database."""
    expect_sql_error(ep, "SELECT * FROM t", 1046, "3D000", r"^No database selected$")
