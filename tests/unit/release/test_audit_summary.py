"""An audit record's summary (the DPO's audit page) never shows a bare run of 15 or more
digits, which the pages' privacy checks (and a reader) would take for a pseudonym: a token id
is 16 hex characters, all of them digits about once in 1,850 tokens."""

from __future__ import annotations

import re

from release.governance._audit_view import summarise

PSEUDONYM = re.compile(r"(?<![\w.])-?\d{15,}(?![\w.])")  # as the page tests look for one


def test_a_token_id_of_digits_only_is_not_shown_as_a_bare_number() -> None:
    text = summarise({"token_id": "5562136566857500", "person": "dora"})
    assert "5562136566857500" in text  # the token is still named
    assert not PSEUDONYM.search(text)


def test_a_token_id_is_named_as_the_token_s_visible_prefix() -> None:
    assert summarise({"token_id": "0536705a2512f714"}) == "token medler_0536705a2512f714"
