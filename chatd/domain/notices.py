"""System notices chatd itself writes into a conversation, in the customer's language.

The bot's own sentences live in its knowledge base (bot_intents/kb/texts.toml) and the masked-
secret notice beside the masker (chatd.domain.redact.warning); these are the queue's. Languages
without a translation get English.
"""

from __future__ import annotations

__all__ = ["NOTICE_LANGUAGES", "language_fallback_notice"]

_LANGUAGE_FALLBACK = {
    "en": "No one who speaks your language is online right now, so a colleague will help you "
    "in English.",
    "zh": "目前没有使用您语言的客服在线，将由英文客服为您服务。",
    "ru": "Сейчас нет сотрудников, говорящих на вашем языке, поэтому вам поможет коллега на "
    "английском.",
    "es": "Ahora mismo no hay nadie conectado que hable tu idioma, así que te atenderá un "
    "compañero en inglés.",
    "ko": "지금은 고객님의 언어로 상담 가능한 상담원이 없어 영어로 안내해 드릴 예정입니다.",
    "tr": "Şu anda dilinizi konuşan çevrimiçi bir temsilcimiz yok; size İngilizce konuşan bir "
    "çalışma arkadaşımız yardımcı olacak.",
    "vi": "Hiện không có nhân viên nói ngôn ngữ của bạn đang trực tuyến, nên một đồng nghiệp sẽ "
    "hỗ trợ bạn bằng tiếng Anh.",
}

#: Languages the notices are written in.
NOTICE_LANGUAGES: tuple[str, ...] = tuple(_LANGUAGE_FALLBACK)


def language_fallback_notice(locale: str) -> str:
    """Tell a waiting customer that nobody speaking their language is online (English help)."""
    primary = locale.lower().replace("_", "-").split("-", 1)[0]
    return _LANGUAGE_FALLBACK.get(primary, _LANGUAGE_FALLBACK["en"])
