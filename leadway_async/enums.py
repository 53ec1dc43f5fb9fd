"""The closed sets of values the search endpoint names, as string enums.

Each member compares equal to its wire string, so `status="unread"` and
`status=ConversationStatus.UNREAD` are interchangeable. Values the server sends that a
member does not exist for yet are kept as plain strings by the models, never an error.
"""

from __future__ import annotations

import enum


class _WireEnum(str, enum.Enum):
    """A string enum whose `str()` is its wire value."""

    def __str__(self) -> str:
        return str(self.value)


class SortOrder(_WireEnum):
    """The `sort` parameter: the direction of the walk."""

    ASC = "asc"
    DESC = "desc"


class SortBy(_WireEnum):
    """The `sortBy` parameter: the field conversations are ordered by."""

    LAST_MANUAL_MESSAGE_DATE = "last_manual_message_date"
    LAST_MESSAGE_DATE = "last_message_date"
    SCORE_PROFILE = "score_profile"
    OVERDUE_AT = "overdue_at"
    DUE_AT = "due_at"


class ConversationStatus(_WireEnum):
    """The `status` parameter."""

    ALL = "all"
    READ = "read"
    UNREAD = "unread"
    STARRED = "starred"
    RECENTS = "recents"


class MessageAction(_WireEnum):
    """Whether a message was sent by a person or by an automation."""

    AUTOMATED = "automated"
    MANUAL = "manual"


class MessageDirection(_WireEnum):
    """Whether a message came in or went out."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class ConversationType(_WireEnum):
    """The primary channel of a conversation."""

    TYPE_PHONE = "TYPE_PHONE"
    TYPE_EMAIL = "TYPE_EMAIL"
    TYPE_FB_MESSENGER = "TYPE_FB_MESSENGER"
    TYPE_REVIEW = "TYPE_REVIEW"
    TYPE_GROUP_SMS = "TYPE_GROUP_SMS"


class MessageType(_WireEnum):
    """The channel of a conversation's most recent message (the spec's 42 values)."""

    TYPE_CALL = "TYPE_CALL"
    TYPE_SMS = "TYPE_SMS"
    TYPE_RCS = "TYPE_RCS"
    TYPE_EMAIL = "TYPE_EMAIL"
    TYPE_SMS_REVIEW_REQUEST = "TYPE_SMS_REVIEW_REQUEST"
    TYPE_WEBCHAT = "TYPE_WEBCHAT"
    TYPE_SMS_NO_SHOW_REQUEST = "TYPE_SMS_NO_SHOW_REQUEST"
    TYPE_CAMPAIGN_SMS = "TYPE_CAMPAIGN_SMS"
    TYPE_CAMPAIGN_CALL = "TYPE_CAMPAIGN_CALL"
    TYPE_CAMPAIGN_EMAIL = "TYPE_CAMPAIGN_EMAIL"
    TYPE_CAMPAIGN_VOICEMAIL = "TYPE_CAMPAIGN_VOICEMAIL"
    TYPE_FACEBOOK = "TYPE_FACEBOOK"
    TYPE_CAMPAIGN_FACEBOOK = "TYPE_CAMPAIGN_FACEBOOK"
    TYPE_CAMPAIGN_MANUAL_CALL = "TYPE_CAMPAIGN_MANUAL_CALL"
    TYPE_CAMPAIGN_MANUAL_SMS = "TYPE_CAMPAIGN_MANUAL_SMS"
    TYPE_GMB = "TYPE_GMB"
    TYPE_CAMPAIGN_GMB = "TYPE_CAMPAIGN_GMB"
    TYPE_REVIEW = "TYPE_REVIEW"
    TYPE_INSTAGRAM = "TYPE_INSTAGRAM"
    TYPE_WHATSAPP = "TYPE_WHATSAPP"
    TYPE_CUSTOM_SMS = "TYPE_CUSTOM_SMS"
    TYPE_CUSTOM_EMAIL = "TYPE_CUSTOM_EMAIL"
    TYPE_CUSTOM_PROVIDER_SMS = "TYPE_CUSTOM_PROVIDER_SMS"
    TYPE_CUSTOM_PROVIDER_EMAIL = "TYPE_CUSTOM_PROVIDER_EMAIL"
    TYPE_IVR_CALL = "TYPE_IVR_CALL"
    TYPE_ACTIVITY_CONTACT = "TYPE_ACTIVITY_CONTACT"
    TYPE_ACTIVITY_INVOICE = "TYPE_ACTIVITY_INVOICE"
    TYPE_ACTIVITY_PAYMENT = "TYPE_ACTIVITY_PAYMENT"
    TYPE_ACTIVITY_OPPORTUNITY = "TYPE_ACTIVITY_OPPORTUNITY"
    TYPE_LIVE_CHAT = "TYPE_LIVE_CHAT"
    TYPE_LIVE_CHAT_INFO_MESSAGE = "TYPE_LIVE_CHAT_INFO_MESSAGE"
    TYPE_ACTIVITY_APPOINTMENT = "TYPE_ACTIVITY_APPOINTMENT"
    TYPE_FACEBOOK_COMMENT = "TYPE_FACEBOOK_COMMENT"
    TYPE_INSTAGRAM_COMMENT = "TYPE_INSTAGRAM_COMMENT"
    TYPE_CUSTOM_CALL = "TYPE_CUSTOM_CALL"
    TYPE_INTERNAL_COMMENT = "TYPE_INTERNAL_COMMENT"
    TYPE_ACTIVITY_EMPLOYEE_ACTION_LOG = "TYPE_ACTIVITY_EMPLOYEE_ACTION_LOG"
    TYPE_TIKTOK = "TYPE_TIKTOK"
    TYPE_TIKTOK_COMMENT = "TYPE_TIKTOK_COMMENT"
    TYPE_ACTIVITY_WHATSAPP = "TYPE_ACTIVITY_WHATSAPP"
    TYPE_FORM_SUBMISSION = "TYPE_FORM_SUBMISSION"
    TYPE_SMS_REACTION = "TYPE_SMS_REACTION"
