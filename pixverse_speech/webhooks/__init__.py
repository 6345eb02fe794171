"""Webhooks: a job's callback ends its wait at once, in every worker process.

```python
from pixverse_speech import AsyncSpeechAPI
from pixverse_speech.webhooks import WebhookHub

hub = WebhookHub(
    "https://app.example.com/hooks/speech",  # where hub.app is reachable from the API
    secret="...",                            # optional: sign the reply URLs
    redis_url="redis://localhost:6379/0",    # optional: share callbacks between processes
)
async with hub, AsyncSpeechAPI(webhooks=hub) as api:
    ...  # serve hub.app at that URL in any ASGI server or framework
```

See ``docs/webhooks.md`` for deployment: the public URL, proxies, several workers, and what a
secret protects.
"""

from __future__ import annotations

from ._hub import DEFAULT_CHANNEL, DEFAULT_FALLBACK_POLL_INTERVAL, WebhookHub
from ._listeners import Listener

__all__ = ["DEFAULT_CHANNEL", "DEFAULT_FALLBACK_POLL_INTERVAL", "Listener", "WebhookHub"]
