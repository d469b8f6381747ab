"""``/healthz`` (the process answers) and ``/readyz`` (index and models loaded): no key needed.

Neither says anything about the archive's content, so probes and load balancers can call them
without a key.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import RuntimeDep
from api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="Readiness: index opened and models loaded",
    responses={503: {"model": Health}},
)
def readyz(runtime: RuntimeDep) -> Health | JSONResponse:
    ready, detail = runtime.status()
    if ready:
        return Health(status="ready")
    body = Health(status="unavailable", detail=detail).model_dump()
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
