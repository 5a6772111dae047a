"""Open311 GeoReport v2 as a real client uses it; responses validated against the published schemas."""

from __future__ import annotations

from pathlib import Path

import defusedxml.ElementTree as SafeET
import pytest

from shared.contracts import parse_as
from shared.contracts.common import Crs
from shared.contracts.reports import ReportReceived
from tests.integration.intake.helpers import intake_env, intake_platform, jpeg
from tests.integration.intake.open311_support import FIXMYSTREET, MERTON, validator, xml_records

__all__ = ["intake_env"]

FIXMYSTREET_POST = {  # the parameters FixMyStreet's Open311 client sends (perllib/Open311.pm)
    "jurisdiction_id": "dongcheng",
    "api_key": "test-open311",
    "lat": "39.9405",
    "long": "116.4342",
    "email": "resident@example.org",
    "description": "title:  Manhole cover missing\n\ndetail: Outside No. 5\n\nurl: https://fms/r/1\n\n"
    "Submitted via FixMyStreet\n",
    "service_code": "manhole_cover",
    "first_name": "Li",
    "last_name": "Lei",
    "phone": "13912345678",
    "media_url": "https://fms.example.org/photo/1.jpeg",
    "attribute[cover_state]": "missing",
    "attribute[usrn]": "8400123",
}


async def test_service_list_and_definitions_validate_against_georeport_schemas(pg_url: str, intake_env: Path) -> None:
    services_schema, definition_schema = validator("services.json"), validator("service-definition.json")
    async with intake_platform(pg_url, intake_env) as p:
        services = (await p.client.get("/open311/v2/services.json")).json()
        as_xml = xml_records((await p.client.get("/open311/v2/services.xml")).content, "service")
        definitions = [
            (await p.client.get(f"/open311/v2/services/{s['service_code']}.json")).json()
            for s in services
            if s["metadata"]
        ]
        missing = await p.client.get("/open311/v2/services/nope.xml")
    services_schema.validate(services)
    for definition in definitions:
        definition_schema.validate(definition)
    assert [s["service_code"] for s in services] == [s["service_code"] for s in as_xml]
    assert {"metadata": "true"}.items() <= next(s for s in as_xml if s["service_code"] == "manhole_cover").items()
    assert missing.status_code == 404 and xml_records(missing.content, "error")[0]["code"] == "404"


async def test_fixmystreet_post_is_accepted_and_read_back_like_the_real_exchanges(
    pg_url: str, intake_env: Path
) -> None:
    requests_schema = validator("requests.json")
    async with intake_platform(pg_url, intake_env) as p:
        created = await p.client.post("/open311/v2/requests.xml", data=FIXMYSTREET_POST)
        # FixMyStreet reads $obj->{request}->{service_request_id}, as in Merton's token.xml answer
        request_id = xml_records(created.content, "request")[0]["service_request_id"]
        listed = (await p.client.get("/open311/v2/requests.json", params={"service_request_id": request_id})).json()
        one = (await p.client.get(f"/open311/v2/requests/{request_id}.json")).json()
        one_xml = xml_records((await p.client.get(f"/open311/v2/requests/{request_id}.xml")).content, "request")
        await p.drain()
        events = await p.events("reports.received.v1")
    assert created.status_code == 201 and created.headers["content-type"].startswith("application/xml")
    requests_schema.validate(listed)
    requests_schema.validate(one)
    assert listed == one and one[0]["status"] == "open" and one[0]["service_code"] == "manhole_cover"
    real = xml_records((FIXMYSTREET / "getservicerequests_1_service_requests.xml").read_bytes(), "request")
    assert set().union(*real) - {"non_public"} <= set(one_xml[0])  # every element a real server sends
    report = parse_as(events[0], ReportReceived)
    # the caller's name travels masked, like the phone; the full name is sealed with the contact (PII retention)
    assert report.reporter.phone_masked == "139****5678" and report.reporter.name == "L*****"
    assert "Li Lei" not in events[0].to_bytes().decode()
    assert report.place.point is not None and report.place.point.crs is Crs.WGS84
    assert report.attributes["open311_attributes"] == {"cover_state": "missing", "usrn": "8400123"}
    assert "resident@example.org" not in events[0].to_bytes().decode()


async def test_refusals_use_open311_error_documents_naming_the_field(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env) as p:
        post = p.client.post
        no_key = await post("/open311/v2/requests.json", data={**FIXMYSTREET_POST, "api_key": ""})
        bad_key = await post("/open311/v2/requests.xml", data={**FIXMYSTREET_POST, "api_key": "stolen"})
        unknown = await post("/open311/v2/requests.json", data={**FIXMYSTREET_POST, "service_code": "ufo"})
        nowhere = await post(
            "/open311/v2/requests.json", data={k: v for k, v in FIXMYSTREET_POST.items() if k not in ("lat", "long")}
        )
        bad_choice = await post(
            "/open311/v2/requests.json", data={**FIXMYSTREET_POST, "attribute[cover_state]": "stolen"}
        )
        as_json = await post("/open311/v2/requests.json", json=FIXMYSTREET_POST)
    assert no_key.status_code == 401 and no_key.json() == [
        {"code": 401, "description": "api_key is required", "field": "api_key"}
    ]
    assert bad_key.status_code == 401 and xml_records(bad_key.content, "error")[0]["field"] == "api_key"
    assert unknown.status_code == 422 and unknown.json()[0]["field"] == "service_code"
    assert nowhere.status_code == 422 and nowhere.json()[0]["field"] == "lat"
    assert bad_choice.status_code == 422 and bad_choice.json()[0]["field"] == "attribute[cover_state]"
    assert as_json.status_code == 415


async def test_merton_service_definition_is_served_and_enforced(
    pg_url: str, tmp_path: Path, intake_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    definition = MERTON / "service.xml"
    if not definition.exists():
        pytest.skip("Merton fixtures absent")
    catalogue = tmp_path / "services.xml"  # the real Merton list, plus the service its definition describes
    real_list = (MERTON / "services.xml").read_text(encoding="utf-8")
    catalogue.write_text(
        real_list.replace(
            "</services>",
            "<service><service_code>DF</service_code><service_name>"
            "Dumped rubbish</service_name><metadata>true</metadata><type>realtime"
            "</type></service></services>",
        ),
        encoding="utf-8",
    )
    (tmp_path / "services.d").mkdir()
    (tmp_path / "services.d" / "DF.xml").write_bytes(definition.read_bytes())
    monkeypatch.setenv("CITYLOOP_INTAKE_OPEN311_SERVICES_FILE", str(catalogue))
    post = {
        "api_key": "test-open311",
        "service_code": "DF",
        # Merton's own request, placed in this district: a point in London is refused as outside it (422 on lat)
        "lat": "39.9405",
        "long": "116.4342",
        "description": "Dumped mattress",
        "attribute[service]": "DF",
        "attribute[usrn]": "20100592",
        "attribute[fixmystreet_id]": "1234",
        "attribute[closest_address]": "1 High St",
    }
    async with intake_platform(pg_url, intake_env) as p:
        services = (await p.client.get("/open311/v2/services.json")).json()
        served = (await p.client.get("/open311/v2/services/DF.json")).json()
        accepted = await p.client.post("/open311/v2/requests.json", data=post)
        refused = await p.client.post(
            "/open311/v2/requests.json", data={k: v for k, v in post.items() if k != "attribute[usrn]"}
        )
    validator("services.json").validate(services)
    validator("service-definition.json").validate(served)
    assert [s["service_code"] for s in services] == ["GR", "DF"]
    assert [a["code"] for a in served["attributes"]] == [
        "service",
        "usrn",
        "fixmystreet_id",
        "easting",
        "northing",
        "closest_address",
    ]
    assert accepted.status_code == 201 and accepted.json()[0]["service_request_id"].startswith("R")
    assert refused.status_code == 422 and refused.json()[0]["field"] == "attribute[usrn]"


async def test_discovery_names_the_endpoint_and_both_formats(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env) as p:
        as_json = await p.client.get("/open311/v2/discovery.json")
        as_xml = await p.client.get("/open311/v2/discovery.xml")
    endpoint = as_json.json()["endpoints"][0]
    assert endpoint["url"] == "http://test/open311/v2" and endpoint["specification"].endswith("GeoReport_v2")
    assert sorted(endpoint["formats"]) == ["application/json", "text/xml"]
    assert xml_records(as_xml.content, "endpoint")[0]["url"] == "http://test/open311/v2"
    assert [f.text for f in SafeET.fromstring(as_xml.content).iter("format")] == ["text/xml", "application/json"]


async def test_raw_utf8_form_text_is_stored_as_sent_and_every_datetime_is_in_beijing_time(
    pg_url: str, intake_env: Path
) -> None:
    raw = "&".join(
        f"{k}={v}"
        for k, v in {**FIXMYSTREET_POST, "description": "路面有坑，请尽快处理"}.items()
        if "\\n" not in v and "\n" not in v
    ).encode()  # as `curl -d description="路面有坑"` sends it
    async with intake_platform(pg_url, intake_env) as p:
        created = await p.client.post(
            "/open311/v2/requests.json", content=raw, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        request_id = created.json()[0]["service_request_id"]
        encoded = await p.client.post("/open311/v2/requests.json", data={**FIXMYSTREET_POST, "description": "井盖丢失"})
        one = (await p.client.get(f"/open311/v2/requests/{request_id}.json")).json()[0]
        other = (await p.client.get(f"/open311/v2/requests/{encoded.json()[0]['service_request_id']}.json")).json()
        latin1 = await p.client.post(
            "/open311/v2/requests.json",
            content="description=caf\xe9".encode("latin-1"),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert created.status_code == 201, created.text
    assert one["description"] == "路面有坑，请尽快处理" and other[0]["description"] == "井盖丢失"
    assert one["requested_datetime"].endswith("+08:00") and one["updated_datetime"].endswith("+08:00")
    assert latin1.status_code == 422 and latin1.json()[0]["field"] == "body"


async def test_a_media_file_part_is_stored_and_served_back_as_the_media_url(pg_url: str, intake_env: Path) -> None:
    form = {k: v for k, v in FIXMYSTREET_POST.items() if k != "media_url"}
    async with intake_platform(pg_url, intake_env) as p:
        created = await p.client.post(
            "/open311/v2/requests.json", data=form, files={"media": ("pothole.jpg", jpeg(b"pothole"), "image/jpeg")}
        )
        request_id = created.json()[0]["service_request_id"]
        one = (await p.client.get(f"/open311/v2/requests/{request_id}.json")).json()[0]
        photo = await p.client.get(one["media_url"].removeprefix("http://test"), headers=p.auth("dispatcher"))
        not_photo = await p.client.post(
            "/open311/v2/requests.xml", data=form, files={"media": ("x.jpg", b"GIF89a not a jpeg at all", "image/jpeg")}
        )
        other_part = await p.client.post(
            "/open311/v2/requests.json", data=form, files={"picture": ("p.jpg", jpeg(), "image/jpeg")}
        )
        await p.drain()
        events = await p.events("reports.received.v1")
    assert created.status_code == 201, created.text
    assert one["media_url"].startswith("http://test/v1/media/") and photo.content == jpeg(b"pothole")
    assert parse_as(events[0], ReportReceived).photos[0].content_type == "image/jpeg"
    assert not_photo.status_code == 415 and xml_records(not_photo.content, "error")[0]["field"] == "media"
    assert other_part.status_code == 422 and other_part.json()[0]["field"] == "media"


async def test_parameter_errors_fastapi_raises_are_open311_error_documents_too(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env) as p:
        too_long = await p.client.get("/open311/v2/requests.json", params={"service_code": "x" * 200})
        as_xml = await p.client.get("/open311/v2/requests.xml", params={"jurisdiction_id": "j" * 200})
        bad_date = await p.client.get("/open311/v2/requests.xml", params={"start_date": "yesterday"})
    assert too_long.status_code == 422 and too_long.json()[0]["field"] == "service_code"
    assert as_xml.status_code == 422 and xml_records(as_xml.content, "error")[0]["field"] == "jurisdiction_id"
    assert bad_date.status_code == 422 and xml_records(bad_date.content, "error")[0]["field"] == "start_date"


async def test_points_far_outside_the_district_are_refused_naming_the_axis_near_ones_are_taken(
    pg_url: str, intake_env: Path
) -> None:
    async with intake_platform(pg_url, intake_env) as p:
        post = p.client.post
        shanghai = await post("/open311/v2/requests.json", data={**FIXMYSTREET_POST, "lat": "31.23", "long": "121.47"})
        swapped = await post("/open311/v2/requests.xml", data={**FIXMYSTREET_POST, "lat": "39.94", "long": "39.94"})
        near = await post(
            "/open311/v2/requests.json",  # 3 km north of the demo district's box: the router decides
            data={**FIXMYSTREET_POST, "lat": "39.9924", "long": "116.41"},
        )
    assert shanghai.status_code == 422 and shanghai.json()[0]["field"] == "lat"
    assert "outside the service area" in shanghai.json()[0]["description"]
    assert swapped.status_code == 422 and xml_records(swapped.content, "error")[0]["field"] == "long"
    assert near.status_code == 201, near.text
