"""pixverse_speech: an async client for the PixVerse text-to-speech API of useapi.net.

```python
from pixverse_speech import AsyncSpeechAPI

async with AsyncSpeechAPI() as api:  # the token comes from USEAPI_TOKEN
    speech = await api.wait_until_final(audio_id)
    print(speech.url)
```
"""

from __future__ import annotations

import logging as _logging

from ._client import AsyncSpeechAPI
from ._exceptions import (
    AccountError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AudioNotAvailableError,
    AuthenticationError,
    BadRequestError,
    BatchGenerationError,
    DownloadError,
    DownloadFileError,
    DownloadSizeError,
    GenerationFailedError,
    InsufficientCreditsError,
    ModerationError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    SpeechError,
    SpeechFailedError,
    WaitTimeoutError,
)
from ._models import (
    AudioStatus,
    CreditFormula,
    ModelInfo,
    ProviderGroup,
    Speech,
    SpeechModels,
    SpeechPage,
    Voice,
)
from ._sync import SpeechAPI
from ._version import __version__

# Without logging configured, Python prints WARNING records to stderr; a library stays silent.
_logging.getLogger("pixverse_speech").addHandler(_logging.NullHandler())

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AccountError",
    "AsyncSpeechAPI",
    "AudioNotAvailableError",
    "AudioStatus",
    "AuthenticationError",
    "BadRequestError",
    "BatchGenerationError",
    "CreditFormula",
    "DownloadError",
    "DownloadFileError",
    "DownloadSizeError",
    "GenerationFailedError",
    "InsufficientCreditsError",
    "ModelInfo",
    "ModerationError",
    "NotFoundError",
    "PaymentRequiredError",
    "ProviderGroup",
    "RateLimitError",
    "ResponseDecodeError",
    "ServerError",
    "Speech",
    "SpeechAPI",
    "SpeechError",
    "SpeechFailedError",
    "SpeechModels",
    "SpeechPage",
    "Voice",
    "WaitTimeoutError",
    "__version__",
]

# Public classes report the package as their module, as httpx's do: tracebacks and reprs show
# ``pixverse_speech.NotFoundError``, and pickles name the public path.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = __name__
del _name, _obj
