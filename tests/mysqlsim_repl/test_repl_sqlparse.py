"""The replication statements' grammar (MySQL 8.0/8.4 manual 15.4.2.x, 15.7.5): option names, MASTER_*
synonyms only on 8.0, versioned comments, channels, CLONE and START GROUP_REPLICATION options."""

from __future__ import annotations

import pytest

from mysqlsim.errors import MySQLError
from mysqlsim.replication.sqlparse import (
    parse_change_source,
    parse_clone,
    parse_replica_command,
    parse_start_gr,
    strip_comments,
)


def test_change_source_full_form_as_the_shell_sends_it() -> None:
    sql = (
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST='h', SOURCE_PORT=3306, SOURCE_USER='u', "
        "SOURCE_PASSWORD='p', "
        "SOURCE_CONNECT_RETRY=3, SOURCE_RETRY_COUNT=10, SOURCE_CONNECTION_AUTO_FAILOVER=1, "
        "SOURCE_HEARTBEAT_PERIOD=2.5, SOURCE_COMPRESSION_ALGORITHMS='zstd,uncompressed', "
        "SOURCE_ZSTD_COMPRESSION_LEVEL=3, SOURCE_AUTO_POSITION=1, SOURCE_SSL=0 "
        "/*!80011 , get_master_public_key=1 */ FOR CHANNEL 'clusterset_replication'"
    )
    cs = parse_change_source(sql, version="8.0.36")
    assert cs.channel == "clusterset_replication"
    assert cs.options["SOURCE_HOST"] == "h" and cs.options["SOURCE_PORT"] == 3306
    assert cs.options["SOURCE_HEARTBEAT_PERIOD"] == 2.5
    assert cs.options["GET_SOURCE_PUBLIC_KEY"] == 1
    assert cs.options["SOURCE_CONNECTION_AUTO_FAILOVER"] == 1


def test_master_synonyms_only_before_84() -> None:
    cs = parse_change_source("CHANGE MASTER TO MASTER_HOST='h', MASTER_AUTO_POSITION=1", version="8.0.36")
    assert cs.options == {"SOURCE_HOST": "h", "SOURCE_AUTO_POSITION": 1} and cs.channel == ""
    with pytest.raises(MySQLError) as e:
        parse_change_source("CHANGE MASTER TO MASTER_HOST='h'", version="8.4.3")
    assert e.value.code == 1064
    with pytest.raises(MySQLError) as e:
        parse_change_source("CHANGE REPLICATION SOURCE TO MASTER_HOST='h'", version="8.4.3")
    assert e.value.code == 1064


@pytest.mark.parametrize(
    "sql",
    [
        "CHANGE REPLICATION SOURCE TO SOURCE_HOSTNAME='h'",
        "CHANGE REPLICATION SOURCE TO SOURCE_PORT='x'",
        "CHANGE REPLICATION SOURCE TO SOURCE_SSL=2",
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST='h' FOR CHANNEL unquoted",
        "CHANGE REPLICATION SOURCE TO",
    ],
)
def test_unknown_or_malformed_options_are_1064(sql: str) -> None:
    with pytest.raises(MySQLError) as e:
        parse_change_source(sql, version="8.0.36")
    assert e.value.code == 1064


def test_privilege_checks_user_and_ignore_server_ids() -> None:
    cs = parse_change_source(
        "CHANGE REPLICATION SOURCE TO PRIVILEGE_CHECKS_USER='priv'@'localhost', IGNORE_SERVER_IDS=(1,2)",
        version="8.0.36",
    )
    assert cs.options["PRIVILEGE_CHECKS_USER"] == "priv@localhost"
    assert cs.options["IGNORE_SERVER_IDS"] == (1, 2)


def test_versioned_comments() -> None:
    assert "x" in strip_comments("SELECT /*!80011 x */ 1", version="8.0.36")
    assert "x" not in strip_comments("SELECT /*!90000 x */ 1", version="8.0.36")
    assert strip_comments("SELECT /* c */ 1;", version="8.0.36") == "SELECT   1"


def test_replica_commands() -> None:
    c = parse_replica_command("START REPLICA IO_THREAD FOR CHANNEL 'c'", version="8.0.36")
    assert c.verb == "START" and c.io_thread and not c.sql_thread and c.channel == "c"
    c = parse_replica_command("START REPLICA USER='u' PASSWORD='p'", version="8.0.36")
    assert c.user == "u" and c.password == "p" and c.channel is None
    c = parse_replica_command("RESET REPLICA ALL FOR CHANNEL 'x'", version="8.4.3")
    assert c.all and c.channel == "x"
    with pytest.raises(MySQLError):
        parse_replica_command("STOP SLAVE", version="8.4.3")
    assert parse_replica_command("STOP SLAVE", version="8.0.36").verb == "STOP"


def test_clone_and_start_group_replication() -> None:
    c = parse_clone(
        "CLONE INSTANCE FROM 'u'@'10.0.0.1':3306 IDENTIFIED BY 'pw' REQUIRE NO SSL", version="8.0.36"
    )
    assert (c.user, c.host, c.port, c.password, c.require_ssl) == ("u", "10.0.0.1", 3306, "pw", False)
    with pytest.raises(MySQLError):
        parse_clone("CLONE INSTANCE FROM 'u'@'h' IDENTIFIED BY 'pw'", version="8.0.36")
    g = parse_start_gr("START GROUP_REPLICATION USER='rpl', PASSWORD='x'", version="8.0.36")
    assert (g.user, g.password) == ("rpl", "x")
