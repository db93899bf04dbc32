"""The toolkit that tests and benchmarks share: processes, pollers, presets, invariants.

Importable without configured Django settings (nothing here reads `django.conf.settings`):

| module | holds |
|---|---|
| `stack` | the real processes (`Simulator`, `Worker`, `Beat`, `WebServer`, `RedisServer`), `environment()`, `manage()`, `http_request()`, `free_port()` |
| `db` | a private database on the local PostgreSQL; `AUDIT_LOG`, the audit table's names |
| `polling` | `wait_until` and pollers over HTTP |
| `proxy` | `PROXY_VARIABLES` and `drop_proxy_variables()` (the SDK must never use a proxy for 127.0.0.1) |
| `sim` | the simulator's credentials (`SIM_KEYS`) and fault-rule selectors |
| `ledger` | reading the simulator's ledger: sales, successful sales |
| `settings` | the fast delivery settings of the tests (`FAST_SETTINGS`) and of the chaos run (`CHAOS_SETTINGS`) |
| `stats` | `percentile()`, the one definition every figure uses |
| `invariants` | the chaos harness's invariants I1–I5 as pure functions |

Status sets come from `payments.core.statuses` and the reconciler's names from `payments.core.schedules`;
nothing here restates them. `tests/` and `bench/` import this package; neither imports the other.
"""
