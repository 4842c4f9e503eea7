"""`channels.wechat.replay`: one signed WeChat URL serves one body, on both databases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from emstrack.channels.wechat.replay import first_use
from emstrack.store.database import Database

URL = {"timestamp": "1714037059", "nonce": "486452656", "signature": "899cf89e464efb63"}


def test_the_same_body_passes_again_another_is_refused_every_time(db: Database) -> None:
    assert first_use(db, **URL, body=b"<xml>one</xml>")
    assert first_use(db, **URL, body=b"<xml>one</xml>")  # a retry
    assert not first_use(db, **URL, body=b"<xml>two</xml>")
    # The refused body was not remembered as seen: its next try is refused too.
    assert not first_use(db, **URL, body=b"<xml>two</xml>")
    assert first_use(db, **URL, body=b"<xml>one</xml>")


def test_each_part_of_the_url_counts(db: Database) -> None:
    assert first_use(db, **URL, body=b"a")
    for part in URL:
        assert first_use(db, **{**URL, part: URL[part] + "0"}, body=b"b")


def test_of_bodies_sent_at_once_with_one_url_exactly_one_passes(db: Database) -> None:
    bodies = [f"<xml>{i}</xml>".encode() for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        passed = list(pool.map(lambda body: first_use(db, **URL, body=body), bodies))
    assert passed.count(True) == 1
