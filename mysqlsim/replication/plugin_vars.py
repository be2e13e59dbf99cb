"""The group_replication and clone plugins and their system variables (defaults per the 8.0/8.4 manual).

Variables declared with ``plugin=`` exist only while that plugin is installed (error 1193 otherwise).
"""

from __future__ import annotations

from typing import Any

from mysqlsim.errors import MySQLError, wrong_value_for_var
from mysqlsim.gtid import GtidSet
from mysqlsim.registry import define_variable, plugin

plugin(
    "group_replication",
    soname="group_replication.so",
    type="GROUP REPLICATION",
    description="Group Replication (1.1.0)",
)
plugin("clone", soname="mysql_clone.so", type="CLONE", description="CLONE PLUGIN")

GR = "group_replication"


def _uuid_or_empty(name: str) -> Any:
    def check(instance: Any, session: Any, value: Any) -> Any:
        from mysqlsim.replication import group

        v = "" if value is None else str(value)
        if group.member_state(instance) in ("ONLINE", "RECOVERING"):
            # the group name and view-change UUID cannot change while Group Replication runs
            raise wrong_value_for_var(name, v)
        if name == "group_replication_view_change_uuid" and v.upper() == "AUTOMATIC":
            return "AUTOMATIC"
        if v == "":
            return v
        try:
            return GtidSet.parse_gtid(v + ":1")[0]
        except MySQLError:
            raise wrong_value_for_var(name, v) from None

    return check


def _force_members(instance: Any, session: Any, value: Any) -> Any:
    from mysqlsim.replication import group

    return group.force_members(instance, session, value)


def _gr(name: str, default: Any, typ: type = str, **kw: Any) -> None:
    define_variable(name, default=default, scope="GLOBAL", dynamic=True, type=typ, plugin=GR, **kw)


def _clone(name: str, default: Any, typ: type = str, **kw: Any) -> None:
    define_variable(name, default=default, scope="GLOBAL", dynamic=True, type=typ, plugin="clone", **kw)


def _define() -> None:
    _gr("group_replication_group_name", "", on_set=_uuid_or_empty("group_replication_group_name"))
    _gr(
        "group_replication_view_change_uuid",
        "AUTOMATIC",
        on_set=_uuid_or_empty("group_replication_view_change_uuid"),
    )
    _gr("group_replication_bootstrap_group", False, bool)
    _gr("group_replication_start_on_boot", True, bool)
    _gr("group_replication_local_address", "")
    _gr("group_replication_group_seeds", "")
    _gr("group_replication_single_primary_mode", True, bool)
    _gr("group_replication_enforce_update_everywhere_checks", False, bool)
    _gr(
        "group_replication_ssl_mode",
        "DISABLED",
        choices=("DISABLED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"),
    )
    _gr("group_replication_recovery_use_ssl", False, bool)
    for n in ("ca", "capath", "cert", "key", "cipher", "crl", "crlpath"):
        _gr(f"group_replication_recovery_ssl_{n}", "")
    _gr("group_replication_recovery_ssl_verify_server_cert", False, bool)
    _gr("group_replication_recovery_tls_version", "TLSv1.2,TLSv1.3")
    _gr("group_replication_recovery_tls_ciphersuites", "")
    _gr("group_replication_recovery_get_public_key", False, bool)
    _gr("group_replication_recovery_public_key_path", "")
    _gr("group_replication_recovery_retry_count", 10, int)
    _gr("group_replication_recovery_reconnect_interval", 60, int)
    _gr("group_replication_recovery_compression_algorithms", "uncompressed")
    _gr("group_replication_recovery_zstd_compression_level", 3, int)
    _gr(
        "group_replication_recovery_complete_at",
        "TRANSACTIONS_APPLIED",
        choices=("TRANSACTIONS_CERTIFIED", "TRANSACTIONS_APPLIED"),
    )
    _gr("group_replication_ip_allowlist", "AUTOMATIC")
    _gr(
        "group_replication_exit_state_action",
        "READ_ONLY",
        choices=("ABORT_SERVER", "OFFLINE_MODE", "READ_ONLY"),
    )
    _gr("group_replication_member_weight", 50, int)
    _gr(
        "group_replication_consistency",
        "EVENTUAL",
        choices=("EVENTUAL", "BEFORE_ON_PRIMARY_FAILOVER", "BEFORE", "AFTER", "BEFORE_AND_AFTER"),
    )
    _gr("group_replication_member_expel_timeout", 5, int)
    _gr("group_replication_autorejoin_tries", 3, int)
    _gr("group_replication_unreachable_majority_timeout", 0, int)
    _gr("group_replication_transaction_size_limit", 150000000, int)
    _gr("group_replication_communication_stack", "XCOM", choices=("XCOM", "MYSQL"))
    _gr("group_replication_paxos_single_leader", False, bool)
    _gr("group_replication_clone_threshold", 9223372036854775807, int)
    _gr("group_replication_components_stop_timeout", 300, int)
    _gr("group_replication_gtid_assignment_block_size", 1000000, int)
    _gr("group_replication_poll_spin_loops", 0, int)
    _gr("group_replication_compression_threshold", 1000000, int)
    _gr("group_replication_flow_control_mode", "QUOTA", choices=("DISABLED", "QUOTA"))
    _gr("group_replication_message_cache_size", 1073741824, int)
    _gr("group_replication_auto_increment_increment", 7, int)
    _gr("group_replication_allow_local_lower_version_join", False, bool)
    _gr("group_replication_force_members", "", on_set=_force_members)
    _gr("group_replication_advertise_recovery_endpoints", "DEFAULT")
    _gr("group_replication_communication_max_message_size", 10485760, int)
    _gr("group_replication_tls_source", "MYSQL_MAIN", choices=("MYSQL_MAIN", "MYSQL_ADMIN"))
    _clone("clone_valid_donor_list", "")
    _clone("clone_max_network_bandwidth", 0, int)
    _clone("clone_max_data_bandwidth", 0, int)
    _clone("clone_max_concurrency", 16, int)
    _clone("clone_autotune_concurrency", True, bool)
    _clone("clone_buffer_size", 4194304, int)
    _clone("clone_ddl_timeout", 300, int)
    _clone("clone_block_ddl", False, bool)
    _clone("clone_delay_after_data_drop", 0, int)
    _clone("clone_donor_timeout_after_network_failure", 5, int)
    _clone("clone_enable_compression", False, bool)
    _clone("clone_ssl_ca", "")
    _clone("clone_ssl_cert", "")
    _clone("clone_ssl_key", "")


_define()
