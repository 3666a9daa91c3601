"""Alert sources: from each wire format to complete, tagged, redacted `Alert` objects.

Pure translation, no I/O: the ingestion route authenticates, checks the body size, calls
`registry.source_for(kind).parse(body, headers, received_at)` and stores what comes back.
"""
