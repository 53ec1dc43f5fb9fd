"""Async Python SDK for the Leadway CRM conversations search API."""

from ._version import __version__
from .client import LeadwayClient
from .enums import (
    ConversationStatus,
    ConversationType,
    MessageAction,
    MessageDirection,
    MessageType,
    SortBy,
    SortOrder,
)
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    LeadwayError,
    NotFoundError,
    PaginationError,
    ParameterError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    ResponseValidationError,
    ServerError,
    UnprocessableEntityError,
)
from .models import Conversation, ConversationPage, RateLimit
from .pagination import ConversationPager
from .params import SearchFilters
from .scan import ConversationScan

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "Conversation",
    "ConversationPage",
    "ConversationPager",
    "ConversationScan",
    "ConversationStatus",
    "ConversationType",
    "LeadwayClient",
    "LeadwayError",
    "MessageAction",
    "MessageDirection",
    "MessageType",
    "NotFoundError",
    "PaginationError",
    "ParameterError",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "ResponseDecodeError",
    "ResponseValidationError",
    "SearchFilters",
    "ServerError",
    "SortBy",
    "SortOrder",
    "UnprocessableEntityError",
    "__version__",
]
