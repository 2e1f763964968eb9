"""Language codes: what an agent's ``--languages`` may say.

Routing compares a customer's language (the bot's detection: en, zh, ru, es, ko, tr, vi, ...) with
the languages agents speak, by ISO 639-1 code. A code that is not one ("english", "cn", "jp") would
silently match nobody, so it is refused, with the code it probably meant.
"""

from __future__ import annotations

__all__ = ["ISO_639_1", "parse_languages"]

#: Every ISO 639-1 two-letter language code.
ISO_639_1 = frozenset(
    """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy
    da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu
    hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb
    lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om
    or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw
    ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
    """.split()
)

#: Names and look-alike codes people type, and the code they mean.
_MEANT = {
    "english": "en",
    "chinese": "zh",
    "mandarin": "zh",
    "cantonese": "zh",
    "cn": "zh",
    "russian": "ru",
    "spanish": "es",
    "korean": "ko",
    "kr": "ko",
    "turkish": "tr",
    "vietnamese": "vi",
    "vn": "vi",
    "japanese": "ja",
    "jp": "ja",
    "portuguese": "pt",
    "br": "pt",
    "indonesian": "id",
    "arabic": "ar",
    "german": "de",
    "french": "fr",
    "ua": "uk",
    "ukrainian": "uk",
}


def parse_languages(raw: str) -> tuple[str, ...]:
    """``"en, zh-CN,TR"`` -> ``("en", "tr", "zh")``; ValueError naming a code that is not one.

    A region or script subtag is dropped (routing compares languages); empty means English.
    """
    codes: set[str] = set()
    for part in raw.split(","):
        code = part.strip().lower().replace("_", "-").split("-", 1)[0]
        if not code:
            continue
        if code not in ISO_639_1:
            meant = _MEANT.get(code)
            hint = f"; did you mean {meant!r}?" if meant else ""
            raise ValueError(
                f"{part.strip()!r} is not an ISO 639-1 language code (such as en, zh, ru, es, "
                f"ko, tr, vi){hint}"
            )
        codes.add(code)
    return tuple(sorted(codes)) or ("en",)
