"""Request ids of creates (AIP-155): what lets the client resend a create safely.

Every create request carries a `request_id`. The server answers a request whose id it has
seen from the same caller with its first answer, so the retry loop may resend a create after
UNAVAILABLE (or whatever codes the RetryPolicy lists) without making a second resource.
"""

from __future__ import annotations

import uuid


def new_request_id(given: str | None = None) -> str:
    """The request_id of a create: the one given, else a fresh UUID4."""
    return given if given else str(uuid.uuid4())
