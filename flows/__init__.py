"""archivist flows: Prefect orchestration over the core stages (``pipeline/``).

Nothing here is needed to use the core as a library. Importing this package imports no Prefect:
the modules that need it import it themselves, so ``archivist search`` stays quick.
"""

import logging
import os

# archivist runs offline by default; an operator who wants Prefect's telemetry sets it explicitly.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The core logs with the standard library; let Prefect's run logs (UI, API) show those lines too.
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "pipeline,connectors,flows")
# Without a server, Prefect starts a temporary one; on a small, busy machine its first start
# (database migrations) can pass Prefect's 20-second default.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
# The watcher logs outside any flow run: those lines go to the terminal, without a warning each.
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")

# archivist's info lines (each document's outcome, index upkeep) are what a run's log is for:
# emitted whatever the root logger's level, so a flow run's log has them wherever it runs (a
# worker, a served deployment); terminals filter them (cli.logs), Prefect's run log keeps them.
for _name in ("pipeline", "connectors", "flows"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.INFO)
