"""Schemathesis against /openapi.json, over real HTTP: the API keeps its documented promises.

Driven by hand (operation by operation, with Hypothesis) rather than through schemathesis'
pytest plugin, whose lazy fixtures do not work with the pytest in use here.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import positive_data_acceptance
from webclient import ServeApp

from emstrack import keys
from emstrack.keys import KeyScope
from emstrack.notify import webpush
from emstrack.store.database import Database


def test_the_api_keeps_its_documented_promises(db: Database, serve_app: ServeApp) -> None:
    public, private = webpush.new_keys()
    roomy: dict[str, Any] = {
        "rate_limit": "100000/minute",
        "rate_limit_key": "100000/minute",
        # Without it subscriptions answer 503, which schemathesis counts as a server error.
        "secret_key": "x" * 40,
        # With web push keys, so that the push endpoints are exercised beyond their 404.
        "webpush_public_key": public,
        "webpush_private_key": private,
        "webpush_subject": "mailto:ops@example.org",
    }
    # An admin key, so that the operators' endpoint is exercised beyond its 401.
    auth = {"Authorization": f"Bearer {keys.create(db, 'schemathesis', KeyScope.ADMIN).key}"}
    with serve_app(**roomy) as http:
        schema = schemathesis.openapi.from_url(f"{http.base_url}/openapi.json")
        results = list(schema.get_all_operations())
        assert all(isinstance(result, Ok) for result in results)
        operations = [
            result.ok()
            for result in results
            if isinstance(result, Ok) and result.ok().path.startswith(("/api/", "/healthz"))
        ]
        assert len(operations) == 12
        for operation in operations:

            @given(case=operation.as_strategy())
            @hsettings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
            def check(case: Any) -> None:
                # A schema-valid number may still be no tracking number at all: the 422 that
                # says so is the API's answer, not a rejected request.
                case.call_and_validate(headers=auth, excluded_checks=[positive_data_acceptance])

            check()
