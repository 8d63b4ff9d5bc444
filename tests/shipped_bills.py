"""Scenarios on the shipped rules that several test files start from (each test deep-copies one
and changes what it is about): the complaint discount of seed 002 requested and approved on the
June 2015 bill, and a residential TV subscription a retention agent is looking at."""

from __future__ import annotations

import copy
from typing import Any

_COMPLAINT: dict[str, Any] = {
    "id": "complaint",
    "as_of": "2015-07-01T02:00:00+02:00",
    "subscription": {
        "code": "SUB-1001",
        "plan": "tv-essentials-24",
        "billing_term_scheme": "monthly-24",
        "billing_frequency": "monthly",
        "start": "2015-02-01",
        "status_history": [{"status": "active", "from": "2015-02-01"}],
        "products": [{"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True}],
        "billing_period": {"from": "2015-06-01", "to": "2015-06-30"},
    },
    "agent": {"user": "anna.agent", "units": ["customer-care"]},
    "requested_discounts": [{"discount": "complaint-discount", "value": 20, "added_on": "2015-06-20"}],
    "approvals": [
        {"discount": "complaint-discount", "by": "sara.supervisor", "units": ["customer-centre-supervisors"]}
    ],
}

_RETENTION: dict[str, Any] = {
    "id": "retention",
    "as_of": "2015-06-15T10:00:00+02:00",
    "account": {"code": "A", "classification": "Residential"},
    "subscription": {
        "code": "S",
        "type": "residential-tv",
        "plan": "tv-essentials-24",
        "billing_term_scheme": "monthly-12",
        "billing_frequency": "monthly",
        "start": "2014-05-01",
        "status_history": [{"status": "active", "from": "2014-05-01"}],
        "products": [{"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True}],
        "billing_period": {"from": "2015-06-01", "to": "2015-06-30"},
    },
    "agent": {"user": "rita.retention", "units": ["retention-team"]},
}


def complaint() -> dict[str, Any]:
    """complaint-discount at 20 % on tv-essentials (29.99 EUR): applied, 6.00 EUR."""
    return copy.deepcopy(_COMPLAINT)


def retention(started: str = "2014-05-01") -> dict[str, Any]:
    """A residential TV subscription started on `started`, a retention agent, nothing requested."""
    data = copy.deepcopy(_RETENTION)
    data["subscription"]["start"] = started
    data["subscription"]["status_history"] = [{"status": "active", "from": started}]
    return data
