"""mysqlsim: a MySQL 8 Group Replication / ClusterSet site simulator speaking the MySQL protocol.

See docs/mysqlsim.md.  ``load_extensions()`` imports the core's statements and system tables and, when
present, ``mysqlsim.replication`` so that its registrations take effect.
"""

from __future__ import annotations

import importlib
import importlib.util

_loaded = False


def load_extensions() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    importlib.import_module("mysqlsim.statements")
    importlib.import_module("mysqlsim.systables")
    if importlib.util.find_spec("mysqlsim.replication") is not None:
        try:
            importlib.import_module("mysqlsim.replication")
        except Exception:
            import logging

            logging.getLogger("mysqlsim").exception("mysqlsim.replication failed to load")
