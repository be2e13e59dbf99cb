"""MySQL InnoDB ClusterSet operations as idempotent, resumable steps over asyncmy, plus the Temporal and
Kubernetes activity wrappers.

Layout (docs/operations.md has the details):
  models.py       the contract with the workflows (requests, plans, step results, progress, observations)
  steps.py        the step framework and the entry points plan_operation / run_step / observe_clusterset
  errors.py       the one error hierarchy (class names are Temporal failure types)
  sql.py          every statement; primitives.py the spec §1 building blocks; common.py shared helpers
  gtid.py         GTID set arithmetic; version_rules.py replication/clone version rules
  connections.py  pools, TLS per sslMode, cluster primary discovery; credentials.py the Secret readers
  bootstrap.py, join.py + clone.py, grow.py, adopt.py, status.py           (H-ops-A)
  switchover.py, failover.py, fence.py, rejoin.py, reboot.py, remove.py, dissolve.py, cs_topology.py (H-ops-B)
  temporal.py, kube.py   the activity wrappers (H-workflows)

Nothing is imported here on purpose: the workflow sandbox imports `activities.models` and must not pull
in asyncmy or the kubernetes client.
"""
