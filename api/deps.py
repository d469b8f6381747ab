"""Route dependencies: the caller's identity (API key), its permissions, the archive.

Collection scoping is enforced here, server-side, by rewriting the caller's filters: a key for
collection A gets ``collections=("A",)`` added to every search, whatever the request asked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import Principal
from api.errors import ApiError
from api.runtime import ArchiveRuntime
from pipeline.archive import Archive
from pipeline.models import SearchFilters

bearer = HTTPBearer(
    auto_error=False,
    description="An API key (ARCHIVIST_API_KEYS or the keys file), as `Authorization: Bearer KEY`.",
)


def get_runtime(request: Request) -> ArchiveRuntime:
    runtime: ArchiveRuntime = request.app.state.runtime
    return runtime


def get_archive(request: Request) -> Archive:
    return get_runtime(request).get()


def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    """The caller, as the middleware's ``Gate`` identified it before the body was read.

    ``credentials`` is declared so that the OpenAPI page offers an "Authorize" button; the key
    itself was checked already.
    """
    principal = request.scope.get("state", {}).get("principal")
    if not isinstance(principal, Principal):  # an app mounted without its middleware
        raise ApiError(401, "not authenticated")
    return principal


def reader(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    if "read" not in principal.scopes:
        raise ApiError(403, f"key {principal.name!r} may not read")
    return principal


def writer(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    if "write" not in principal.scopes:
        raise ApiError(403, f"key {principal.name!r} is read-only")
    return principal


Reader = Annotated[Principal, Depends(reader)]
Writer = Annotated[Principal, Depends(writer)]
ArchiveDep = Annotated[Archive, Depends(get_archive)]
RuntimeDep = Annotated[ArchiveRuntime, Depends(get_runtime)]


def scoped(principal: Principal, filters: SearchFilters | None) -> SearchFilters | None:
    """``filters`` narrowed to the collections ``principal`` may see (403 for one it may not)."""
    if principal.collections is None:
        return filters
    filters = filters or SearchFilters()
    if filters.collection is not None and not principal.can_see(filters.collection):
        raise ApiError(
            403, f"this key may not read collection {filters.collection!r}", param="collection"
        )
    return filters.model_copy(update={"collections": tuple(sorted(principal.collections))})


def write_collection(principal: Principal, requested: str | None, default: str) -> str:
    """The collection an upload goes to: the one asked for if allowed, else the key's only one."""
    if principal.collections is None:
        return requested or default
    if requested is None:
        if len(principal.collections) == 1:
            return next(iter(principal.collections))
        raise ApiError(
            422,
            "this key may write to several collections: name one in the 'collection' field",
            param="collection",
        )
    if not principal.can_see(requested):
        raise ApiError(
            403, f"this key may not write to collection {requested!r}", param="collection"
        )
    return requested
