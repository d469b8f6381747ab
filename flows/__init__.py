"""archivist flows: Prefect orchestration over the core stages (``pipeline/``).

Nothing here is needed to use the core as a library. Importing this package imports no Prefect:
the modules that need it import it themselves, so ``archivist search`` stays quick.
"""

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
