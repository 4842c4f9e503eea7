"""The access log never shows the secrets that links and callbacks carry in their query, nor a
message pasted into the Track box."""

from __future__ import annotations

import logging

import pytest

from emstrack.web.accesslog import RedactQuery


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        (
            "/subscriptions/unsubscribe?token=abc.def",
            "/subscriptions/unsubscribe?token=***",
        ),
        (
            "/channels/wechat?signature=899cf&timestamp=1714037059&nonce=4&echostr=43",
            "/channels/wechat?signature=***&timestamp=1714037059&nonce=4&echostr=***",
        ),
        (
            "/channels/wechat?encrypt_type=aes&msg_signature=ed1e&signature=89",
            "/channels/wechat?encrypt_type=aes&msg_signature=***&signature=***",
        ),
        ("/track/EE123456785CN?lang=zh", "/track/EE123456785CN?lang=zh"),
        ("/api/v1/tracking/EE123456785CN?notoken=1", "/api/v1/tracking/EE123456785CN?notoken=1"),
        # The Track box: numbers are kept, a pasted message is not.
        ("/track?n=EE123456785CN%2C+RR473124829GB", "/track?n=EE123456785CN%2C+RR473124829GB"),
        ("/track?n=ee+123+456+785+cn", "/track?n=ee+123+456+785+cn"),  # grouped as printed
        ("/track?n=EMS%3A+your+parcel+EE123456785CN+is+held%2C+pay", "/track?n=***"),
        ("/track?scope=intl&numbers=Pay+now+at+x.top", "/track?scope=intl&numbers=***"),
        ("/track/Your%20parcel%20EE123456785CN%20pay?lang=zh", "/track/***?lang=zh"),
    ],
)
def test_secret_query_parameters_are_hidden(path: str, shown: str) -> None:
    # uvicorn's access record: (client, method, path with query, HTTP version, status).
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200), None,
    )  # fmt: skip
    assert RedactQuery().filter(record)
    assert record.getMessage() == f'127.0.0.1:5000 - "GET {shown} HTTP/1.1" 200'
