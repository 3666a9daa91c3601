"""Remove secrets and personal data from alert text before it reaches people, chat or an LLM.

`redact(text)` replaces each finding with a marker naming its kind, e.g. `[REDACTED:email]`:

* **email** addresses;
* **jwt**: three base64url segments starting `eyJ`;
* **bearer** tokens (`Authorization: Bearer …`), the scheme word is kept;
* **api_key**: OpenAI/Anthropic `sk-…`, AWS `AKIA…`/`ASIA…`, Slack `xox[abposr]-…`, GitHub
  `ghp_…`/`gho_…`/`ghu_…`/`ghs_…`/`ghr_…`/`github_pat_…`, GitLab `glpat-…`;
* **secret** assignments: the value after `password=`, `api_key:`, `token=`, `secret=`,
  `client_secret=`… (the key name is kept so the reader knows what was there);
* **card** numbers: 13–19 digits (spaces/dashes allowed) with a card-network prefix **and** a
  valid Luhn checksum, so order ids, epoch milliseconds and compact timestamps are left alone;
* **phone** numbers: E.164 (`+4915112345678`, `+1 (415) 555-2671`) with 8–15 digits, and common
  national formats (`(415) 555-2671`, `415-555-2671`, `415.555.2671`, `020 7946 0958`,
  `06 12 34 56 78`). Deliberately not matched: timestamps, IPs, versions, durations, bare digit
  runs (a 10-digit number is more often an id than a phone).

Guarantees (hypothesis-tested): idempotent; never increases the number of findings; leaves text
without findings byte-for-byte unchanged. Everything is one precompiled alternation scanned
once per string, with cheap checks (Luhn, digit counts) in the replacement callback.

`redact_alert` applies this to the title, description and annotation *values*. Labels are left
alone: they are the alert's identity (`fingerprint_of(labels)`), and rewriting them would make
the same alert look like a different one, or merge different ones. The consequence: a secret in a
label value stays in the database and in grouping; keep secrets out of labels at the source
(label values are indexed and shown by every Prometheus tool anyway).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from workflows.domain.alerts import Alert

_JWT = r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"
_BEARER = r"(?i:\bbearer)[ \t]+(?!\[REDACTED)[A-Za-z0-9._~+/-]{8,}=*"
# Prefixed keys need a word boundary before them ("disk-pressure-..." is no `sk-` key), except
# AWS ids: fixed length, so one key glued to the next is still found in one pass. Bodies take
# `_`/`-` too, so a token glued to another is consumed whole rather than half left behind.
_API_KEY = (
    r"(?:AKIA|ASIA)[0-9A-Z]{16}|\b(?:sk-[A-Za-z0-9_-]{16,}|xox[abposr]-[A-Za-z0-9_-]{10,}"
    r"|gh[pousr]_[A-Za-z0-9_]{30,}|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_-]{20,})"
)
_SECRET_KEYS = (
    r"api[_-]?key|apikey|access[_-]?key|secret[_-]?key|client[_-]?secret|secret"
    r"|passw(?:or)?d|pwd|access[_-]?token|auth[_-]?token|refresh[_-]?token|token"
)
_ASSIGNMENT = (
    rf"(?<![A-Za-z0-9])(?i:{_SECRET_KEYS})[\"']?[ \t]*[=:][ \t]*[\"']?"
    r"(?!\[REDACTED)[^\s\"'&,;<>)\]]+"
)
# At most 15 digits, at most two separators between digits: bounded, so a phone followed by
# other numbers backtracks to its own end instead of swallowing them.
_PHONE_E164 = r"(?<![\w+])\+[1-9](?:[ .()-]{0,2}\d){7,14}(?![\w]|[.:-]\d)"
_PHONE_NATIONAL = (
    r"(?<![\w.+:/-])(?:\(\d{3}\)[ ]?|\d{3}[-.])\d{3}[-.]\d{4}(?![\w]|[.:-]\d)"  # 415-555-2671
    r"|(?<![\w.+:/-])0\d{2,4} \d{3,4} \d{3,4}(?![\w]|[.:-]\d)"  # 020 7946 0958
    r"|(?<![\w.+:/-])0[1-9](?: \d{2}){4}(?![\w]|[.:-]\d)"  # 06 12 34 56 78
)

# Each pattern runs only when a cheap substring test says it could match: alert text is mostly
# free of secrets, and a regex scan costs 20-300 ns per character here (measured), which would
# be most of the ingestion budget. `in` is a C substring search, ~20x cheaper. Order matters:
# earlier stages win. A stage is (hints, hints are for the lower-cased text, pattern).
_JWT_RE = re.compile(f"(?P<jwt>{_JWT})")
_BEARER_RE = re.compile(f"(?P<bearer>{_BEARER})")
_API_KEY_RE = re.compile(f"(?P<api_key>{_API_KEY})")
_SECRET_RE = re.compile(f"(?P<secret>{_ASSIGNMENT})")
# Emails: find "@domain.tld" with a literal-prefixed regex (fast), then walk left over the local
# part by hand (bounded by RFC 5321's 64 characters).
_EMAIL_DOMAIN = re.compile(r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_EMAIL_LOCAL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")
# Numbers: only runs of 8+ digit-ish characters can be cards or phones; the detailed patterns
# run on a small window around each such run (2 characters of context each side).
_NUMBER_RUN = re.compile(r"\d[\d ().-]{6,}\d")
_PHONES = re.compile(f"(?P<phone>{_PHONE_E164})|(?P<national_phone>{_PHONE_NATIONAL})")
_DIGIT_GROUP = re.compile(r"\d+")
_CARD_JOINERS = (" ", "-")
_RUN_SEPARATORS = (" ", ".", "-", "(", ")")
_CARD_BEFORE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.+-")
_ASSIGNMENT_VALUE = re.compile(r"[=:][ \t]*[\"']?")
_NON_DIGIT = re.compile(r"\D")
# Redaction only turns findings into markers, so a second pass finds anything a first
# replacement uncovered (e.g. two findings fused by a separator); three passes is more than any
# input needs, and the bound keeps a pathological input from looping.
_MAX_PASSES = 3


@lru_cache(maxsize=16384)
def redact(text: str) -> str:
    """Return `text` with every finding replaced by `[REDACTED:<kind>]`; idempotent.

    Cached: storms re-send the same annotation texts thousands of times (a pure function of its
    argument, so the cache cannot change a result; 16k entries bound its memory to a few MB).
    """
    for _ in range(_MAX_PASSES):
        redacted, found = _redact_once(text)
        if not found:
            return redacted
        text = redacted
    return text


def count_findings(text: str) -> int:
    """How many secrets one pass of `redact` replaces in `text` (used by tests and audits)."""
    return _redact_once(text)[1]


def redact_alert(alert: Alert) -> Alert:
    """The same alert with title, description and annotation values redacted; labels untouched.

    Returns `alert` itself when nothing needed redacting, so the common case allocates nothing.
    """
    title = redact(alert.title)
    description = redact(alert.description)
    annotations = redact_annotations(alert.annotations)
    if (
        title == alert.title
        and description == alert.description
        and annotations == alert.annotations
    ):
        return alert
    return alert.model_copy(
        update={"title": title, "description": description, "annotations": annotations}
    )


def redact_annotations(annotations: Mapping[str, str]) -> dict[str, str]:
    """Annotation values redacted, keys kept (keys are names chosen by rule authors, not data)."""
    return {key: redact(value) for key, value in annotations.items()}


def _redact_once(text: str) -> tuple[str, int]:
    text, found = _redact_words(text)
    if "@" in text:
        text, emails = _redact_emails(text)
        found += emails
    if _NUMBER_RUN.search(text):
        text, numbers = _redact_numbers(text)
        found += numbers
    return text, found


def _redact_words(text: str) -> tuple[str, int]:
    """JWTs, bearer tokens, API keys and secret assignments."""
    found = 0
    lowered = text.lower()
    # Hints as inline `in` chains: no loop overhead, and each is a C substring search.
    if "eyJ" in text:
        text, findings = _substitute(_JWT_RE, text)
        found += findings
    if "bearer" in lowered:
        text, findings = _substitute(_BEARER_RE, text)
        found += findings
    if (
        "sk-" in text or "AKIA" in text or "ASIA" in text or "xox" in text or "glpat-" in text
        or ("gh" in text and "_" in text)
    ):
        text, findings = _substitute(_API_KEY_RE, text)
        found += findings
    if ("=" in text or ":" in text) and (
        "key" in lowered or "secret" in lowered or "passw" in lowered or "pwd" in lowered
        or "token" in lowered
    ):
        text, findings = _substitute(_SECRET_RE, text)
        found += findings
    return text, found


def _substitute(pattern: re.Pattern[str], text: str) -> tuple[str, int]:
    """`pattern.sub(_replace, text)` and how many matches were real findings."""
    findings = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal findings
        replacement = _replace(match)
        findings += replacement != match.group(0)
        return replacement

    return pattern.sub(replace, text), findings


def _redact_emails(text: str) -> tuple[str, int]:
    parts: list[str] = []
    last = 0
    for domain in _EMAIL_DOMAIN.finditer(text):
        at = left = domain.start()
        while left > last and at - left < 64 and text[left - 1] in _EMAIL_LOCAL:
            left -= 1
        if left == at or (left > last and text[left - 1] in _EMAIL_LOCAL):
            continue  # no local part, or one longer than an address can have
        parts += (text[last:left], "[REDACTED:email]")
        last = domain.end()
    if not parts:
        return text, 0
    return "".join(parts) + text[last:], len(parts) // 2


def _redact_numbers(text: str) -> tuple[str, int]:
    """Cards and phones, looked for only around runs with enough digits to be one."""
    parts: list[str] = []
    found = last = 0
    for run in _NUMBER_RUN.finditer(text):
        run_text = run.group()
        digits = len(run_text) - sum(map(run_text.count, _RUN_SEPARATORS))
        if digits < 8:  # the shortest phone (E.164) has 8 digits, a card 13
            continue
        start, end = max(last, run.start() - 2), min(len(text), run.end() + 2)
        window, cards = _redact_cards(text[start:end]) if digits >= 13 else (text[start:end], 0)
        phones = 0
        if "+" in window or not run_text.isdigit():  # a bare digit run is no phone format
            window, phones = _substitute(_PHONES, window)
        if cards or phones:
            parts += (text[last:start], window)
            found += cards + phones
            last = end
    if not parts:
        return text, 0
    return "".join(parts) + text[last:], found


def _redact_cards(text: str) -> tuple[str, int]:
    spans = [span for run in _NUMBER_RUN.finditer(text) for span in _card_spans(text, run)]
    if not spans:
        return text, 0
    parts: list[str] = []
    last = 0
    for start, end in spans:
        parts += (text[last:start], "[REDACTED:card]")
        last = end
    return "".join(parts) + text[last:], len(spans)


def _card_spans(text: str, run: re.Match[str]) -> list[tuple[int, int]]:
    """Spans of whole digit groups that form a card number, longest first from the left.

    Done on groups rather than with one regex so that a card next to other numbers
    ("ref 5678 4111 1111 1111 1111") is still found: a regex would take the longest digit
    sequence, fail the checksum, and never try the card inside it.
    """
    groups = [(m.start(), m.end()) for m in _DIGIT_GROUP.finditer(text, run.start(), run.end())]
    spans: list[tuple[int, int]] = []
    first = 0
    while first < len(groups):
        best = _longest_card_from(text, groups, first)
        if best is None:
            first += 1
            continue
        spans.append((groups[first][0], groups[best][1]))
        first = best + 1
    return spans


def _longest_card_from(text: str, groups: list[tuple[int, int]], first: int) -> int | None:
    start = groups[first][0]
    if start and text[start - 1] in _CARD_BEFORE:
        return None
    best = None
    digits = ""
    for index in range(first, len(groups)):
        if index > first and text[groups[index - 1][1] : groups[index][0]] not in _CARD_JOINERS:
            break
        digits += text[groups[index][0] : groups[index][1]]
        if len(digits) > 19:
            break
        if len(digits) >= 13 and _ends_cleanly(text, groups[index][1]) and _is_card(digits):
            best = index
    return best


def _ends_cleanly(text: str, end: int) -> bool:
    """Not followed by a word character, nor by `.5`/`-5` (a decimal, a range, a date)."""
    if end >= len(text):
        return True
    after = text[end]
    if after.isalnum() or after == "_":
        return False
    return not (after in ".-" and end + 1 < len(text) and text[end + 1].isdigit())


def _replace(match: re.Match[str]) -> str:
    kind = match.lastgroup or "secret"
    found = match.group(0)
    if kind == "bearer":
        return found[: found.lower().index("bearer") + 6] + " [REDACTED:token]"
    if kind == "secret":
        value_at = _ASSIGNMENT_VALUE.search(found)
        assert value_at is not None  # the pattern requires the separator
        return found[: value_at.end()] + "[REDACTED:secret]"
    if kind == "phone":
        digits = len(_NON_DIGIT.sub("", found))
        return "[REDACTED:phone]" if 8 <= digits <= 15 else found
    if kind == "national_phone":
        return "[REDACTED:phone]"
    return f"[REDACTED:{kind}]"  # jwt, api_key


def _is_card(digits: str) -> bool:
    if not 13 <= len(digits) <= 19 or not _has_card_prefix(digits):
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _has_card_prefix(digits: str) -> bool:
    """Visa, Mastercard (51-55, 2221-2720), Amex, Diners, JCB, Discover/UnionPay."""
    two = int(digits[:2])
    four = int(digits[:4])
    return (
        digits[0] == "4"
        or 51 <= two <= 55
        or 2221 <= four <= 2720
        or two in (34, 37, 36, 38, 30, 35, 65, 62, 64)
        or four == 6011
    )
