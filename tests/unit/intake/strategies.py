"""Hypothesis strategies for channel formats: mostly-valid fields mixed with arbitrary JSON junk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

BEIJING = timezone(timedelta(hours=8))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
aware_times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.sampled_from([UTC, BEIJING])
)
codes = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:\-]{0,20}\Z")
lons = st.floats(min_value=-180, max_value=180)
lats = st.floats(min_value=-90, max_value=90)
crs = st.sampled_from(["WGS84", "GCJ02", "BD09"])
phones = st.from_regex(r"\A\+?[0-9][0-9 \-]{2,15}\Z")


def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a valid value, sometimes anything at all."""
    return st.one_of(valid, valid, valid, json_values)


def record(
    required: dict[str, st.SearchStrategy[Any]], optional: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {k: maybe(v) for k, v in required.items()}, optional={k: maybe(v) for k, v in optional.items()}
    )


points = record({"lon": lons, "lat": lats}, {"crs": crs})
hotline_tickets = record(
    {"ticket_no": codes, "call_time": aware_times.map(datetime.isoformat), "content": st.text(min_size=1)},
    {
        "caller": record({}, {"name": st.text(max_size=30), "phone": phones}),
        "address": st.text(max_size=50),
        "category": record({"code": codes}, {"name": st.text(max_size=20)}),
        "urgency": st.sampled_from(["normal", "urgent"]),
        "hotline_class": st.sampled_from(["general", "complex"]),
        "location": points,
    },
)
hotline_updates = record(
    {"update_id": codes, "kind": st.sampled_from(["supplement", "withdrawn"]), "at": aware_times.map(str)},
    {"text": st.text(max_size=50)},
)
patrol_forms = record(
    {"category_code": codes, "lon": lons.map(str), "lat": lats.map(str)},
    {
        "crs": crs,
        "description": st.text(max_size=50),
        "address": st.text(max_size=50),
        "occurred_at": aware_times.map(datetime.isoformat),
    },
)
video_alerts = record(
    {
        "alert_id": codes,
        "camera_id": st.sampled_from(["CAM-1", "CAM-2", "CAM-X"]),
        "algorithm": st.sampled_from(["street_vending", "exposed_garbage", "ufo"]),
        "confidence": st.floats(min_value=0, max_value=1),
        "captured_at": aware_times.map(datetime.isoformat),
    },
    {"snapshot_url": st.sampled_from(["https://cdn.example.org/s.jpg", "ftp://x", "not a url"])},
)
iot_alarms = record(
    {
        "message_id": codes,
        "device_id": st.sampled_from(["SMK-1", "GAS-1", "NOPE"]),
        "alarm_type": st.sampled_from(["smoke", "gas", "water_level", "manhole_tilt"]),
        "at": aware_times.map(datetime.isoformat),
    },
    {
        "status": st.sampled_from(["alarm", "recovered"]),
        "severity": st.sampled_from(["info", "major", "critical"]),
        "value": st.floats(),
        "unit": st.text(max_size=5),
        "message": st.text(max_size=30),
    },
)
