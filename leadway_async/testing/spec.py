"""What the real search endpoint names: its path, versions, query parameters and enum values.

Copied by hand from the official OpenAPI file (operationId `search-conversation`), so the
emulator does not share a single definition with the client it is meant to check. The
versions beyond the spec's are the ones recorded in use.
"""

from __future__ import annotations

SEARCH_PATH = "/conversations/search"

VERSIONS = ("2021-07-28", "2021-04-15", "2023-02-21", "v3")
"""The `Version` header values accepted by default: Leadway's page, the spec, the Node and
Python SDKs."""

QUERY_PARAMETERS = (
    "locationId",
    "contactId",
    "assignedTo",
    "followers",
    "mentions",
    "query",
    "sort",
    "startAfterDate",
    "id",
    "limit",
    "lastMessageType",
    "lastMessageAction",
    "lastMessageDirection",
    "status",
    "sortBy",
    "sortScoreProfile",
    "scoreProfile",
    "scoreProfileMin",
    "scoreProfileMax",
    "startDate",
    "endDate",
)

MESSAGE_TYPES = (
    "TYPE_CALL",
    "TYPE_SMS",
    "TYPE_RCS",
    "TYPE_EMAIL",
    "TYPE_SMS_REVIEW_REQUEST",
    "TYPE_WEBCHAT",
    "TYPE_SMS_NO_SHOW_REQUEST",
    "TYPE_CAMPAIGN_SMS",
    "TYPE_CAMPAIGN_CALL",
    "TYPE_CAMPAIGN_EMAIL",
    "TYPE_CAMPAIGN_VOICEMAIL",
    "TYPE_FACEBOOK",
    "TYPE_CAMPAIGN_FACEBOOK",
    "TYPE_CAMPAIGN_MANUAL_CALL",
    "TYPE_CAMPAIGN_MANUAL_SMS",
    "TYPE_GMB",
    "TYPE_CAMPAIGN_GMB",
    "TYPE_REVIEW",
    "TYPE_INSTAGRAM",
    "TYPE_WHATSAPP",
    "TYPE_CUSTOM_SMS",
    "TYPE_CUSTOM_EMAIL",
    "TYPE_CUSTOM_PROVIDER_SMS",
    "TYPE_CUSTOM_PROVIDER_EMAIL",
    "TYPE_IVR_CALL",
    "TYPE_ACTIVITY_CONTACT",
    "TYPE_ACTIVITY_INVOICE",
    "TYPE_ACTIVITY_PAYMENT",
    "TYPE_ACTIVITY_OPPORTUNITY",
    "TYPE_LIVE_CHAT",
    "TYPE_LIVE_CHAT_INFO_MESSAGE",
    "TYPE_ACTIVITY_APPOINTMENT",
    "TYPE_FACEBOOK_COMMENT",
    "TYPE_INSTAGRAM_COMMENT",
    "TYPE_CUSTOM_CALL",
    "TYPE_INTERNAL_COMMENT",
    "TYPE_ACTIVITY_EMPLOYEE_ACTION_LOG",
    "TYPE_TIKTOK",
    "TYPE_TIKTOK_COMMENT",
    "TYPE_ACTIVITY_WHATSAPP",
    "TYPE_FORM_SUBMISSION",
    "TYPE_SMS_REACTION",
)

CONVERSATION_TYPES = (
    "TYPE_PHONE",
    "TYPE_EMAIL",
    "TYPE_FB_MESSENGER",
    "TYPE_REVIEW",
    "TYPE_GROUP_SMS",
)

SORT_ORDERS = ("asc", "desc")
MESSAGE_ACTIONS = ("automated", "manual")
MESSAGE_DIRECTIONS = ("inbound", "outbound")
STATUSES = ("all", "read", "unread", "starred", "recents")
SORT_BYS = (
    "last_manual_message_date",
    "last_message_date",
    "score_profile",
    "overdue_at",
    "due_at",
)

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def version_problem(version: str | None, accepted: tuple[str, ...]) -> str | None:
    """The 400 message for a `Version` header value (None: absent), or None if accepted."""
    if version is None:
        return "Version header was not found"
    if version not in accepted:
        return "Version header must be " + " or ".join(accepted)
    return None
