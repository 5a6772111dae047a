"""Open311 GeoReport v2, in JSON and XML, so any Open311 client (FixMyStreet, city apps) works unchanged.

Refusals follow the spec's error document (`[{"code", "description"}]`, `<errors><error>…`), plus `field`.
Only reports that came in through Open311 are listed: other channels' reports carry citizens' words
that were never meant to be published.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path as PathLike
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from intake import repository as repo
from intake.adapters import open311
from intake.adapters.common import require_storable
from intake.endpoints.common import IntakeRuntime, intake_of
from intake.metrics import ANSWERS
from intake.photos import check_photo
from intake.repository import AnyRow
from shared.contracts.common import Photo
from shared.errors import DomainError, Invalid, NotFound, Unauthorized, UnsupportedMedia


class Open311Route(APIRoute):
    """Every refusal of an Open311 route is the spec's error document in the route's format, also those
    FastAPI raises itself (a query parameter too long, a path too long)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        fmt: Format = "xml" if self.path.endswith(".xml") else "json"

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = [
                    {
                        "code": 422,
                        "description": str(e.get("msg", "invalid")),
                        "field": str(e["loc"][-1]) if e.get("loc") else None,
                    }
                    for e in exc.errors()
                ]
                return _render(fmt, "errors", errors, 422)
            except DomainError as exc:
                return _render(fmt, "errors", open311.error_document(exc.status, exc.detail, exc.field), exc.status)

        return route


router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=Open311Route)
Format = Literal["json", "xml"]
MAX_RESULTS = 1000
CLOSED_CASE_STATES = frozenset({"closed", "withdrawn"})
_FORM_MEDIA = ("application/x-www-form-urlencoded", "multipart/form-data")

POST_BODY = {
    "required": True,
    "content": {
        media: {
            "schema": {
                "type": "object",
                "required": ["api_key", "service_code"],
                "properties": {
                    "api_key": {"type": "string"},
                    "jurisdiction_id": {"type": "string"},
                    "service_code": {"type": "string"},
                    "lat": {"type": "number"},
                    "long": {"type": "number"},
                    "address_string": {"type": "string"},
                    "address_id": {"type": "string"},
                    "email": {"type": "string"},
                    "device_id": {"type": "string"},
                    "account_id": {"type": "string"},
                    "first_name": {"type": "string"},
                    "last_name": {"type": "string"},
                    "phone": {"type": "string"},
                    "description": {"type": "string"},
                    "media_url": {"type": "string"},
                    **(
                        {"media": {"type": "string", "format": "binary", "description": "JPEG or PNG photo"}}
                        if media == "multipart/form-data"
                        else {}
                    ),
                },
                "additionalProperties": {"type": "string", "description": "attribute[CODE] values"},
            }
        }
        for media in _FORM_MEDIA
    },
}
Responses = dict[int | str, dict[str, Any]]
ERRORS: Responses = {
    status: {"description": text}
    for status, text in (
        (401, "missing or unknown api_key"),
        (404, "no such service or request"),
        (415, "not a form"),
        (422, "invalid field (named in the error)"),
    )
}


def _documented(
    fmt: Format, status: int = 200, description: str = "the GeoReport v2 document"
) -> dict[int | str, dict[str, Any]]:
    media = "application/xml" if fmt == "xml" else "application/json"
    return {status: {"description": description, "content": {media: {}}}, **ERRORS}


def _render(fmt: Format, root: str, document: Any, status_code: int = 200) -> Response:
    if fmt == "xml":
        return Response(open311.to_xml(root, document), status_code=status_code, media_type="application/xml")
    return JSONResponse(document, status_code=status_code)


async def _guarded(fmt: Format, work: Callable[[], Awaitable[Response]]) -> Response:
    try:
        return await work()
    except DomainError as exc:
        return _render(fmt, "errors", open311.error_document(exc.status, exc.detail, exc.field), exc.status)


def _status_of(row: AnyRow, primary: AnyRow | None = None) -> tuple[str, str | None]:
    if row.stage == "merged":  # 并案: the request follows the case of the request it joined
        into = (primary.case_no if primary is not None and primary.case_no else None) or row.case_no
        note = (
            f"merged into {into} (same problem as {row.primary_report_id})"
            if into
            else f"merged into {row.primary_report_id}"
        )
        state = row.case_state or (primary.case_state if primary is not None else None)
        return ("closed" if state in CLOSED_CASE_STATES else "open"), note + (f": {state}" if state else "")
    if row.case_state:
        closed = row.case_state in CLOSED_CASE_STATES
        return ("closed" if closed else "open"), f"case {row.case_no or row.case_id}: {row.case_state}"
    notes = {
        "routed": f"assigned to {row.department_code}" if row.department_code else "assigned",
        "queued": "waiting for a dispatcher",
    }
    return "open", notes.get(row.stage or "received", "received")


def _document(runtime: IntakeRuntime, row: AnyRow, primaries: dict[str, AnyRow], base: str) -> dict[str, Any]:
    primary = primaries.get(row.primary_report_id) if row.primary_report_id else None
    status, notes = _status_of(row, primary)
    code = (row.body.get("attributes") or {}).get("service_code")
    service = intake_of(runtime).registry.services.get(code) if code else None
    return open311.request_document(
        row.body,
        service_name=service.service_name if service else None,
        status=status,
        status_notes=notes,
        agency=row.department_code or (primary.department_code if primary is not None else None),
        updated_at=row.updated_at,
        media_base=base,
    )


async def _primaries(session: Any, rows: Sequence[AnyRow]) -> dict[str, AnyRow]:
    return await repo.statuses_of(session, sorted({r.primary_report_id for r in rows if r.primary_report_id}))


def _when(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise Invalid("not an ISO 8601 date-time", field=field) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


DISCOVERY_CHANGESET = "2026-12-01T00:00:00+08:00"
"""When the endpoint list below last changed (clients cache discovery by it)."""


def _add_format_routes(fmt: Format) -> None:
    @router.get(
        f"/discovery.{fmt}",
        summary=f"Service discovery ({fmt}): endpoint, specification and formats",
        responses=_documented(fmt),
        operation_id=f"open311_discovery_{fmt}",
    )
    async def discovery(
        request: Request, jurisdiction_id: Annotated[str | None, Query(max_length=100)] = None
    ) -> Response:
        url = str(request.url.replace(query="")).rsplit("/", 1)[0]
        return _render(fmt, "discovery", open311.discovery_document(url, DISCOVERY_CHANGESET, "the platform operator"))

    @router.get(
        f"/services.{fmt}",
        summary=f"Service list ({fmt})",
        responses=_documented(fmt),
        operation_id=f"open311_services_{fmt}",
    )
    async def services(
        runtime: IntakeRuntime, jurisdiction_id: Annotated[str | None, Query(max_length=100)] = None
    ) -> Response:
        catalogue = intake_of(runtime).registry.services.values()
        return _render(fmt, "services", [open311.service_document(s) for s in catalogue])

    @router.get(
        f"/services/{{service_code}}.{fmt}",
        summary=f"Service definition ({fmt})",
        responses=_documented(fmt),
        operation_id=f"open311_service_definition_{fmt}",
    )
    async def definition(
        runtime: IntakeRuntime,
        service_code: Annotated[str, Path(max_length=128)],
        jurisdiction_id: Annotated[str | None, Query(max_length=100)] = None,
    ) -> Response:
        async def work() -> Response:
            service = intake_of(runtime).registry.services.get(service_code)
            if service is None:
                raise NotFound(f"no service {service_code!r}", field="service_code")
            return _render(fmt, "service_definition", open311.definition_document(service))

        return await _guarded(fmt, work)

    @router.post(
        f"/requests.{fmt}",
        status_code=201,
        summary=f"Create a service request ({fmt}, form-encoded)",
        responses=_documented(fmt, 201, "created: the service_request_id"),
        openapi_extra={"requestBody": POST_BODY},
        operation_id=f"open311_create_request_{fmt}",
    )
    async def create(request: Request, runtime: IntakeRuntime) -> Response:
        async def work() -> Response:
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if media not in _FORM_MEDIA:
                raise UnsupportedMedia("Open311 requests are form-encoded", field="Content-Type")
            photos: list[Photo] = []
            if media == "application/x-www-form-urlencoded":
                items = open311.decode_form(await request.body())
            else:
                items, uploads = await _multipart(request)
                photos = await _store_media(runtime, uploads)
            client = _client(runtime, dict(items).get("api_key"))
            parsed = open311.form_to_request(items)
            intake = intake_of(runtime)
            open311.check_service_area(
                parsed, _service_area(intake.config.service_area_file), intake.config.service_area_margin_m
            )
            async with runtime.transaction() as session:
                report_id = await intake.open311_request(session, parsed, client, photos)
            ANSWERS.labels("open311", "accepted").inc()
            notice = "已受理 Received; it will be routed to the responsible department"
            return _render(
                fmt,
                "service_requests",
                [{"service_request_id": report_id, "service_notice": notice, "account_id": None}],
                201,
            )

        return await _guarded(fmt, work)

    @router.get(
        f"/requests.{fmt}",
        summary=f"Service requests ({fmt})",
        responses=_documented(fmt),
        operation_id=f"open311_list_requests_{fmt}",
    )
    async def list_requests(
        request: Request,
        runtime: IntakeRuntime,
        service_request_id: Annotated[str | None, Query(max_length=2000, description="comma-separated")] = None,
        service_code: Annotated[str | None, Query(max_length=128)] = None,
        start_date: Annotated[str | None, Query(max_length=40)] = None,
        end_date: Annotated[str | None, Query(max_length=40)] = None,
        status: Annotated[str | None, Query(max_length=20, description="open, closed or both (comma)")] = None,
        jurisdiction_id: Annotated[str | None, Query(max_length=100)] = None,
    ) -> Response:
        async def work() -> Response:
            require_storable(service_request_id, "service_request_id")
            require_storable(service_code, "service_code")
            ids = [i.strip() for i in service_request_id.split(",") if i.strip()] if service_request_id else None
            start, end = _when(start_date, "start_date"), _when(end_date, "end_date")
            if not ids and start is None:  # the spec's default: the last 90 days
                start = (end or intake_of(runtime).now()) - timedelta(days=90)
            wanted = {s.strip() for s in status.split(",")} if status else {"open", "closed"}
            if not wanted <= {"open", "closed"}:
                raise Invalid("status must be open, closed or both", field="status")
            async with runtime.transaction() as session:
                rows = await repo.list_reports(
                    session,
                    channel="open311",
                    ids=ids,
                    service_code=service_code,
                    start=start,
                    end=end,
                    limit=MAX_RESULTS,
                )
                primaries = await _primaries(session, rows)
            documents = [_document(runtime, r, primaries, str(request.base_url)) for r in rows]
            return _render(fmt, "service_requests", [d for d in documents if d["status"] in wanted])

        return await _guarded(fmt, work)

    @router.get(
        f"/requests/{{service_request_id}}.{fmt}",
        summary=f"One service request ({fmt})",
        responses=_documented(fmt),
        operation_id=f"open311_get_request_{fmt}",
    )
    async def get_request(
        request: Request,
        runtime: IntakeRuntime,
        service_request_id: Annotated[str, Path(max_length=64)],
        jurisdiction_id: Annotated[str | None, Query(max_length=100)] = None,
    ) -> Response:
        async def work() -> Response:
            require_storable(service_request_id, "service_request_id")
            async with runtime.transaction() as session:
                rows = await repo.list_reports(
                    session,
                    channel="open311",
                    ids=[service_request_id],
                    service_code=None,
                    start=None,
                    end=None,
                    limit=1,
                )
                primaries = await _primaries(session, rows)
            if not rows:
                raise NotFound(f"no service request {service_request_id!r}", field="service_request_id")
            return _render(fmt, "service_requests", [_document(runtime, rows[0], primaries, str(request.base_url))])

        return await _guarded(fmt, work)


@functools.lru_cache(maxsize=4)
def _service_area(path: PathLike | None) -> tuple[float, float, float, float] | None:
    return open311.read_service_area(path)


async def _multipart(request: Request) -> tuple[list[tuple[str, str]], list[UploadFile]]:
    """Fields and the `media` file part (GeoReport v2 lets a client upload the photo instead of a media_url)."""
    try:
        form = await request.form(max_files=1, max_fields=200)
    except HTTPException as exc:  # Starlette's refusal of a malformed or oversized multipart body
        raise Invalid(f"unreadable multipart form: {exc.detail}", field="media") from exc
    items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    uploads = [v for k, v in form.multi_items() if not isinstance(v, str)]
    if any(k != "media" for k, v in form.multi_items() if not isinstance(v, str)):
        raise Invalid("the only file part Open311 knows is media", field="media")
    return items, uploads


async def _store_media(runtime: IntakeRuntime, uploads: list[UploadFile]) -> list[Photo]:
    if not uploads:
        return []
    data = await uploads[0].read(runtime.settings.max_photo_bytes + 1)
    content_type, extension = check_photo(data, field="media", max_bytes=runtime.settings.max_photo_bytes)
    return [await intake_of(runtime).photos.put(data, content_type, extension)]


def _client(runtime: IntakeRuntime, api_key: str | None) -> str:
    if not api_key:
        raise Unauthorized("api_key is required", field="api_key")
    for key, client in runtime.settings.api_keys.items():
        if hmac.compare_digest(key.encode(), api_key.encode()):  # str compare refuses non-ASCII
            return client
    raise Unauthorized("unknown api_key", field="api_key")


for _fmt in ("json", "xml"):
    _add_format_routes(_fmt)
