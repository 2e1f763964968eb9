"""The notice shown to a customer whose message had something masked, in their language.

One table per language: what each kind of secret is called, what to do if it leaked, and the
sentences around them. Languages without a table (and unknown locales) get English. The names
are listed after a colon, so no language needs grammatical agreement with the list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ._spans import KINDS

__all__ = ["WARNING_LANGUAGES", "warning"]


@dataclass(frozen=True, slots=True)
class _Language:
    names: dict[str, str]
    #: "wallet" (any wallet key), "api_secret", "password", "otp_code", "card_number".
    advice: dict[str, str]
    #: Holds {what}: the names joined with ``join``.
    removed: str
    never: str
    #: Holds {steps}: the advice joined with ``steps_join``.
    exposed: str
    join: str
    steps_join: str
    secret: str


_LANGUAGES: dict[str, _Language] = {
    "en": _Language(
        names={
            "seed_phrase": "a recovery (seed) phrase",
            "private_key": "a private key",
            "wif_key": "a private key",
            "extended_private_key": "an extended private key (xprv)",
            "api_secret": "an API secret",
            "password": "a password",
            "otp_code": "a 2FA code",
            "card_number": "a card number",
        },
        advice={
            "wallet": "move your funds to a new wallet with a new seed phrase right away",
            "api_secret": "delete that API key and create a new one",
            "password": "change your password",
            "otp_code": "change your password and reset your 2FA",
            "card_number": "ask your bank to block the card",
        },
        removed="For your safety we removed what looked like {what} from your message; our "
        "staff cannot see it and it was not stored.",
        never=" Our staff will never ask for your password, 2FA code, private key or seed phrase.",
        exposed=" If you think it may have been exposed, {steps}.",
        join=", ",
        steps_join="; ",
        secret="a secret",
    ),
    "zh": _Language(
        names={
            "seed_phrase": "助记词",
            "private_key": "私钥",
            "wif_key": "私钥",
            "extended_private_key": "扩展私钥（xprv）",
            "api_secret": "API 密钥",
            "password": "密码",
            "otp_code": "二次验证（2FA）验证码",
            "card_number": "银行卡号",
        },
        advice={
            "wallet": "请立即把资产转移到用新助记词创建的新钱包",
            "api_secret": "请删除该 API 密钥并重新创建",
            "password": "请修改密码",
            "otp_code": "请修改密码并重置二次验证",
            "card_number": "请联系银行冻结该卡",
        },
        removed="为了您的安全，我们已从您的消息中删除了看起来像{what}的内容，客服看不到它，也不会保存它。",
        never="客服人员绝不会向您索要密码、二次验证码、私钥或助记词。",
        exposed="如果您认为它可能已经泄露：{steps}。",
        join="、",
        steps_join="；",
        secret="敏感信息",
    ),
    "ru": _Language(
        names={
            "seed_phrase": "сид-фраза",
            "private_key": "приватный ключ",
            "wif_key": "приватный ключ",
            "extended_private_key": "расширенный приватный ключ (xprv)",
            "api_secret": "секретный ключ API",
            "password": "пароль",
            "otp_code": "код 2FA",
            "card_number": "номер карты",
        },
        advice={
            "wallet": "сразу переведите средства на новый кошелёк с новой сид-фразой",
            "api_secret": "удалите этот API-ключ и создайте новый",
            "password": "смените пароль",
            "otp_code": "смените пароль и сбросьте 2FA",
            "card_number": "попросите банк заблокировать карту",
        },
        removed="Ради вашей безопасности мы удалили из сообщения то, что похоже на: {what}. "
        "Сотрудники этого не видят, и это не сохранено.",
        never=" Наши сотрудники никогда не просят пароль, код 2FA, приватный ключ или сид-фразу.",
        exposed=" Если вы думаете, что данные могли утечь: {steps}.",
        join=", ",
        steps_join="; ",
        secret="секретные данные",
    ),
    "es": _Language(
        names={
            "seed_phrase": "frase semilla (de recuperación)",
            "private_key": "clave privada",
            "wif_key": "clave privada",
            "extended_private_key": "clave privada extendida (xprv)",
            "api_secret": "secreto de API",
            "password": "contraseña",
            "otp_code": "código 2FA",
            "card_number": "número de tarjeta",
        },
        advice={
            "wallet": "mueve tus fondos ya a una billetera nueva con una frase semilla nueva",
            "api_secret": "elimina esa clave API y crea una nueva",
            "password": "cambia tu contraseña",
            "otp_code": "cambia tu contraseña y restablece tu 2FA",
            "card_number": "pide a tu banco que bloquee la tarjeta",
        },
        removed="Por tu seguridad eliminamos de tu mensaje algo que parecía: {what}. Nuestro "
        "equipo no puede verlo y no se guardó.",
        never=" Nunca te pediremos tu contraseña, código 2FA, clave privada ni frase semilla.",
        exposed=" Si crees que pudo quedar expuesto: {steps}.",
        join=", ",
        steps_join="; ",
        secret="un dato secreto",
    ),
    "ko": _Language(
        names={
            "seed_phrase": "시드 구문(복구 문구)",
            "private_key": "개인키",
            "wif_key": "개인키",
            "extended_private_key": "확장 개인키(xprv)",
            "api_secret": "API 시크릿 키",
            "password": "비밀번호",
            "otp_code": "OTP(2FA) 코드",
            "card_number": "카드 번호",
        },
        advice={
            "wallet": "즉시 새 시드 구문으로 만든 새 지갑으로 자산을 옮기세요",
            "api_secret": "해당 API 키를 삭제하고 새로 발급하세요",
            "password": "비밀번호를 변경하세요",
            "otp_code": "비밀번호를 변경하고 OTP를 재설정하세요",
            "card_number": "은행에 카드 정지를 요청하세요",
        },
        removed="고객님의 안전을 위해 메시지에서 다음으로 보이는 내용을 삭제했습니다: {what}. "
        "상담원은 이를 볼 수 없으며 저장되지도 않았습니다.",
        never=" 저희 직원은 절대 비밀번호, OTP 코드, 개인키나 시드 구문을 요청하지 않습니다.",
        exposed=" 유출되었을 수 있다고 생각되면: {steps}.",
        join=", ",
        steps_join="; ",
        secret="민감한 정보",
    ),
    "tr": _Language(
        names={
            "seed_phrase": "kurtarma (seed) kelimeleri",
            "private_key": "özel anahtar",
            "wif_key": "özel anahtar",
            "extended_private_key": "genişletilmiş özel anahtar (xprv)",
            "api_secret": "API gizli anahtarı",
            "password": "şifre",
            "otp_code": "2FA kodu",
            "card_number": "kart numarası",
        },
        advice={
            "wallet": "varlıklarınızı hemen yeni kurtarma kelimeleriyle oluşturulmuş yeni bir "
            "cüzdana taşıyın",
            "api_secret": "o API anahtarını silip yenisini oluşturun",
            "password": "şifrenizi değiştirin",
            "otp_code": "şifrenizi değiştirip 2FA'nızı sıfırlayın",
            "card_number": "bankanızdan kartı bloke etmesini isteyin",
        },
        removed="Güvenliğiniz için mesajınızdan şuna benzeyen içeriği kaldırdık: {what}. "
        "Çalışanlarımız bunu göremez ve kaydedilmedi.",
        never=" Çalışanlarımız şifrenizi, 2FA kodunuzu, özel anahtarınızı veya kurtarma "
        "kelimelerinizi asla sormaz.",
        exposed=" Açığa çıkmış olabileceğini düşünüyorsanız: {steps}.",
        join=", ",
        steps_join="; ",
        secret="gizli bilgi",
    ),
    "vi": _Language(
        names={
            "seed_phrase": "cụm từ khôi phục (seed)",
            "private_key": "khóa riêng tư",
            "wif_key": "khóa riêng tư",
            "extended_private_key": "khóa riêng tư mở rộng (xprv)",
            "api_secret": "khóa bí mật API",
            "password": "mật khẩu",
            "otp_code": "mã 2FA",
            "card_number": "số thẻ",
        },
        advice={
            "wallet": "chuyển tài sản ngay sang ví mới với cụm từ khôi phục mới",
            "api_secret": "xóa khóa API đó và tạo khóa mới",
            "password": "đổi mật khẩu",
            "otp_code": "đổi mật khẩu và đặt lại 2FA",
            "card_number": "đề nghị ngân hàng khóa thẻ",
        },
        removed="Vì an toàn của bạn, chúng tôi đã xóa khỏi tin nhắn nội dung trông giống: "
        "{what}. Nhân viên không thấy được và nội dung này không được lưu.",
        never=" Nhân viên của chúng tôi không bao giờ hỏi mật khẩu, mã 2FA, khóa riêng tư hay "
        "cụm từ khôi phục của bạn.",
        exposed=" Nếu bạn nghĩ thông tin có thể đã bị lộ: {steps}.",
        join=", ",
        steps_join="; ",
        secret="thông tin bí mật",
    ),
}

#: Languages the notice is written in (others get English).
WARNING_LANGUAGES: tuple[str, ...] = tuple(_LANGUAGES)
_WALLET_KINDS = frozenset({"seed_phrase", "private_key", "wif_key", "extended_private_key"})


def _language(locale: str) -> _Language:
    primary = locale.lower().replace("_", "-").split("-", 1)[0]
    return _LANGUAGES.get(primary, _LANGUAGES["en"])


def _advice_keys(kinds: Iterable[str]) -> list[str]:
    keys: list[str] = []
    for kind in kinds:
        key = "wallet" if kind in _WALLET_KINDS else kind
        if key in _LANGUAGES["en"].advice and key not in keys:
            keys.append(key)
    return keys


def warning(kinds: Iterable[str], locale: str = "en") -> str:
    """Return the notice shown to the customer at once when :func:`redact` masked something.

    In the language of ``locale`` (its primary subtag: en, zh, ru, es, ko, tr, vi), English for
    any other. Empty ``kinds`` gives "".
    """
    given = set(kinds)
    ordered = [k for k in KINDS if k in given]
    extra = sorted(given - set(KINDS))
    if not ordered and not extra:
        return ""
    lang = _language(locale)
    names: list[str] = []
    for kind in ordered:
        name = lang.names[kind]
        if name not in names:
            names.append(name)
    if extra:
        names.append(lang.secret)
    if lang is _LANGUAGES["en"] and len(names) > 1:
        what = ", ".join(names[:-1]) + " and " + names[-1]
    else:
        what = lang.join.join(names)
    text = lang.removed.format(what=what) + lang.never
    advice = [lang.advice[key] for key in _advice_keys(ordered)]
    if advice:
        text += lang.exposed.format(steps=lang.steps_join.join(advice))
    return text
