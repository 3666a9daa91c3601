"""Local servers speaking vendors' wire protocols, for tests: each checks auth, records what
arrives, and can be switched to fail (500, 429 + Retry-After, hang, recover after N)."""
