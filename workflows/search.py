"""Search attributes and memo keys the incident workflow maintains for the Temporal UI.

Registered on the server by `lim up` (dev server) or `temporal operator search-attribute create`.
Never put personal data here: search attributes are indexed in plain text.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

SA_STATUS = SearchAttributeKey.for_keyword("IncidentStatus")
SA_SEVERITY = SearchAttributeKey.for_keyword("IncidentSeverity")
SA_SERVICE = SearchAttributeKey.for_keyword("IncidentService")
SA_ENV = SearchAttributeKey.for_keyword("IncidentEnv")

SEARCH_ATTRIBUTES: list[SearchAttributeKey] = [SA_STATUS, SA_SEVERITY, SA_SERVICE, SA_ENV]
MEMO_TITLE = "title"
