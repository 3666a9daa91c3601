"""Redaction: what it removes, what it must never touch, and its invariants (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows.domain.alerts import Alert, AlertStatus
from workflows.domain.redaction import count_findings, redact, redact_alert

SECRETS = [
    ("write to jane.doe+ops@example.co.uk please", "email"),
    ("Authorization: Bearer abcDEF123456789.xyz", "token"),
    ("key=sk-proj-abcdefghijklmnopqrstuvwx1234", "api_key"),
    ("sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv in env", "api_key"),
    ("aws AKIAIOSFODNN7EXAMPLE leaked", "api_key"),
    ("slack xoxb-123456789012-abcdefghijkl", "api_key"),
    ("gh ghp_abcdefghijklmnopqrstuvwxyz0123456789", "api_key"),
    ("DB_PASSWORD=hunter2 in logs", "secret"),
    ('{"api_key": "abc123def"}', "secret"),
    ("url https://x.test/cb?token=abc123&x=1", "secret"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", "jwt"),
    ("paid with 4111 1111 1111 1111 today", "card"),
    ("amex 3782-822463-10005", "card"),
    ("card 5555555555554444.", "card"),
    ("call +1 (415) 555-2671 now", "phone"),
    ("sms +4915112345678", "phone"),
    ("office (415) 555-2671", "phone"),
    ("desk 415-555-2671", "phone"),
    ("london 020 7946 0958", "phone"),
    ("paris 06 12 34 56 78", "phone"),
]

NEIGHBOURS = [
    ("ref 5678 4111 1111 1111 1111 ok", "ref 5678 [REDACTED:card] ok"),
    ("1234 4111111111111111", "1234 [REDACTED:card]"),
    ("+4915112345678 2024", "[REDACTED:phone] 2024"),
    ("paid 4111111111111111, 5555555555554444.", "paid [REDACTED:card], [REDACTED:card]."),
    ("4111111111111111.5 and x4111111111111111", "4111111111111111.5 and x4111111111111111"),
]

PLAIN = [
    "p99 latency 2.5s above 500ms for 10m on checkout-7f9c6d-abcde",
    "at 2024-05-01T10:00:00.123456789Z and 2024-05-01 10:00:00 +02:00",
    "from 10.0.0.1:8080 and 192.168.100.200 and [2001:db8::1]:443",
    "version v1.2.3, 2.14.3-rc.1, build 20240501120000123, ts=1700000000000",
    "order 4111111111111112 failed Luhn so it is not a card",
    "rate 1234567890 requests, 99.95% availability, 3 pods OOMKilled",
    "tokens_per_second=850 exceeded; token budget reached; passwords rotated",
    "GPU memory 79.5GiB of 80GiB; temperature 87C",
]


@pytest.mark.parametrize("text,kind", SECRETS)
def test_each_kind_of_secret_is_replaced_by_a_marker_naming_it(text, kind):
    redacted = redact(text)
    assert f"[REDACTED:{kind}]" in redacted
    assert count_findings(redacted) == 0


@pytest.mark.parametrize("text", PLAIN)
def test_plain_operational_text_is_left_untouched(text):
    assert redact(text) == text


@pytest.mark.parametrize("text,expected", NEIGHBOURS)
def test_cards_and_phones_next_to_other_numbers_are_still_found(text, expected):
    assert redact(text) == expected


def test_assignment_keeps_the_key_name_so_readers_know_what_was_there():
    assert redact("password=hunter2") == "password=[REDACTED:secret]"
    assert redact("Bearer abcdefghijk") == "Bearer [REDACTED:token]"


def test_redact_alert_changes_text_fields_but_never_labels():
    alert = Alert(
        id="al_1",
        fingerprint="f",
        source="generic",
        status=AlertStatus.FIRING,
        title="login failures for bob@example.com",
        description="token=abc123def",
        labels={"alertname": "LoginFailures", "user": "bob@example.com"},
        annotations={"runbook": "call +4915112345678"},
        starts_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    redacted = redact_alert(alert)
    assert redacted.title == "login failures for [REDACTED:email]"
    assert redacted.description == "token=[REDACTED:secret]"
    assert redacted.annotations == {"runbook": "call [REDACTED:phone]"}
    assert redacted.labels == alert.labels
    assert redact_alert(redacted) is redacted


# --- invariants -------------------------------------------------------------------------------

words = st.sampled_from(
    ["disk", "full", "on", "node", "checkout", "error", "rate", "high", "the", "pod", "restarted",
     "latency", "GPU", "memory", "OOMKilled", "drift", "is", "above", "threshold", "-", ":", "(",
     ")", ",", "."]
)
timestamps = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.isoformat())
ips = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
durations = st.tuples(st.integers(0, 100000), st.sampled_from(["ms", "s", "m", "h", "µs"])).map(
    lambda t: f"{t[0]}{t[1]}"
)
versions = st.tuples(*[st.integers(0, 999)] * 3).map(lambda t: "v" + ".".join(map(str, t)))
percentages = st.floats(0, 100, allow_nan=False).map(lambda f: f"{f:.2f}%")
safe_tokens = st.one_of(words, timestamps, ips, durations, versions, percentages)
safe_text = st.lists(safe_tokens, max_size=30).map(" ".join)

emails = st.from_regex(r"[a-z][a-z0-9._]{0,10}@[a-z]{2,8}\.(com|org|io|de)", fullmatch=True)
cards = st.sampled_from(
    ["4111111111111111", "5555 5555 5555 4444", "3782-822463-10005", "6011111111111117",
     "4012888888881881", "2223003122003222"]
)
tokens = st.one_of(
    st.from_regex(r"sk-[A-Za-z0-9]{20,40}", fullmatch=True),
    st.from_regex(r"AKIA[0-9A-Z]{16}", fullmatch=True),
    st.from_regex(r"ghp_[A-Za-z0-9]{36}", fullmatch=True),
    st.from_regex(r"xoxb-[0-9]{10,12}-[A-Za-z0-9]{10,24}", fullmatch=True),
    st.from_regex(r"Bearer [A-Za-z0-9]{16,40}", fullmatch=True),
)
secrets = st.one_of(emails, cards, tokens)
mixed_text = st.lists(st.one_of(safe_tokens, secrets, st.text(max_size=12)), max_size=20).map(
    " ".join
)


@settings(max_examples=200)
@given(safe_text)
def test_text_without_secrets_is_never_touched(text):
    assert redact(text) == text


@settings(max_examples=200)
@given(mixed_text)
def test_redaction_is_idempotent(text):
    once = redact(text)
    assert redact(once) == once


@settings(max_examples=200)
@given(mixed_text)
def test_redaction_never_increases_the_number_of_secrets(text):
    assert count_findings(redact(text)) <= count_findings(text)
    assert count_findings(redact(text)) == 0


@settings(max_examples=200)
@given(st.lists(safe_tokens, max_size=8), secrets, st.lists(safe_tokens, max_size=8))
def test_generated_emails_cards_and_tokens_are_always_removed(before, secret, after):
    text = " ".join([*before, secret, *after])
    redacted = redact(text)
    assert secret.removeprefix("Bearer ") not in redacted
    assert "[REDACTED:" in redacted


numbers = st.integers(0, 99999).map(str)


@settings(max_examples=200)
@given(st.lists(numbers, max_size=3), secrets, st.lists(numbers, max_size=3))
def test_secrets_between_plain_numbers_are_always_removed(before, secret, after):
    redacted = redact(" ".join([*before, secret, *after]))
    assert secret.removeprefix("Bearer ") not in redacted
    assert count_findings(redacted) == 0


glue = st.sampled_from(["@", "token=", "Bearer ", "+", "-", " ", ".", "sk-", "eyJ", "AKIA", "(", ")"])
glued_text = st.lists(
    st.one_of(safe_tokens, secrets, numbers, st.text(max_size=12), glue), max_size=25
).map("".join)


@settings(max_examples=200)
@given(glued_text)
def test_secrets_glued_to_each_other_or_to_noise_still_redact_idempotently(text):
    once = redact(text)
    assert redact(once) == once
    assert count_findings(once) == 0


def test_aws_keys_glued_together_are_all_removed_in_one_call():
    glued = "AKIA0000000000000000" * 4 + "sk-" + "0" * 20
    assert redact(glued) == "[REDACTED:api_key]" * 5
