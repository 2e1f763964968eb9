"""The sentences of chatd's emails (ticket answers, transcripts, digests of replies), in the
customer's language: the twelve locales of the widget. A locale without a sentence gets English.

``{name}`` placeholders are filled by :func:`mail_text`; every locale has the same ones (a test
checks). Times in mails stay ``YYYY-MM-DD HH:MM UTC``: a mail is read in any zone.
"""

from __future__ import annotations

__all__ = ["MAIL_LOCALES", "mail_locale", "mail_text"]

_EN = {
    "ticket_subject": "Re: your ticket #{ticket}",
    "continue": "Continue the conversation: {link}",
    "link_days": "(The link works for {days} days.)",
    "transcript_subject": "Your support chat transcript",
    "you": "You",
    "assistant": "Assistant",
    "support": "Support",
    "sent_file": "{who} sent {name}",
    "no_messages": "(no messages)",
    "digest_one": "New reply in your support chat",
    "digest_many": "{n} new replies in your support chat",
    "digest_intro": "You asked us to email you our replies while you are away.",
    "digest_earlier": "({n} earlier replies are in the chat)",
    "digest_file": "{who} sent {name} (open the chat to see it)",
    "digest_stop": "(To stop these emails, open the chat: the envelope button at its top.)",
}

_TEXTS: dict[str, dict[str, str]] = {
    "en": _EN,
    "zh-CN": {
        "ticket_subject": "回复：您的工单 #{ticket}",
        "continue": "继续对话：{link}",
        "link_days": "（链接 {days} 天内有效。）",
        "transcript_subject": "您的客服对话记录",
        "you": "您",
        "assistant": "智能助手",
        "support": "客服",
        "sent_file": "{who} 发送了 {name}",
        "no_messages": "（没有消息）",
        "digest_one": "您的客服对话有一条新回复",
        "digest_many": "您的客服对话有 {n} 条新回复",
        "digest_intro": "您要求在离开期间通过邮件接收我们的回复。",
        "digest_earlier": "（更早的 {n} 条回复请在对话中查看）",
        "digest_file": "{who} 发送了 {name}（请打开对话查看）",
        "digest_stop": "（如需停止接收这些邮件，请打开对话，点击顶部的信封按钮。）",
    },
    "zh-TW": {
        "ticket_subject": "回覆：您的工單 #{ticket}",
        "continue": "繼續對話：{link}",
        "link_days": "（連結 {days} 天內有效。）",
        "transcript_subject": "您的客服對話紀錄",
        "you": "您",
        "assistant": "智慧助理",
        "support": "客服",
        "sent_file": "{who} 傳送了 {name}",
        "no_messages": "（沒有訊息）",
        "digest_one": "您的客服對話有一則新回覆",
        "digest_many": "您的客服對話有 {n} 則新回覆",
        "digest_intro": "您要求在離開期間以電子郵件接收我們的回覆。",
        "digest_earlier": "（更早的 {n} 則回覆請在對話中查看）",
        "digest_file": "{who} 傳送了 {name}（請開啟對話查看）",
        "digest_stop": "（如要停止接收這些郵件，請開啟對話，點選上方的信封按鈕。）",
    },
    "ja": {
        "ticket_subject": "Re: お問い合わせ #{ticket}",
        "continue": "チャットを続ける: {link}",
        "link_days": "（このリンクは {days} 日間有効です。）",
        "transcript_subject": "サポートチャットの記録",
        "you": "あなた",
        "assistant": "アシスタント",
        "support": "サポート",
        "sent_file": "{who} が {name} を送信しました",
        "no_messages": "（メッセージはありません）",
        "digest_one": "サポートチャットに新しい返信があります",
        "digest_many": "サポートチャットに {n} 件の新しい返信があります",
        "digest_intro": "離席中の返信をメールで受け取る設定になっています。",
        "digest_earlier": "（それ以前の {n} 件の返信はチャットでご確認ください）",
        "digest_file": "{who} が {name} を送信しました（チャットを開いてご確認ください）",
        "digest_stop": "（このメールを停止するには、チャットを開いて"
        "上部の封筒ボタンを押してください。）",
    },
    "ko": {
        "ticket_subject": "Re: 문의 #{ticket}",
        "continue": "대화 이어가기: {link}",
        "link_days": "(이 링크는 {days}일 동안 유효합니다.)",
        "transcript_subject": "고객지원 채팅 기록",
        "you": "나",
        "assistant": "상담 도우미",
        "support": "고객지원",
        "sent_file": "{who}님이 {name} 파일을 보냈습니다",
        "no_messages": "(메시지 없음)",
        "digest_one": "고객지원 채팅에 새 답변이 있습니다",
        "digest_many": "고객지원 채팅에 새 답변 {n}개가 있습니다",
        "digest_intro": "자리를 비운 동안의 답변을 이메일로 받겠다고 요청하셨습니다.",
        "digest_earlier": "(이전 답변 {n}개는 채팅에서 확인하세요)",
        "digest_file": "{who}님이 {name} 파일을 보냈습니다 (채팅을 열어 확인하세요)",
        "digest_stop": "(이 이메일을 그만 받으려면 채팅을 열고 위쪽의 봉투 버튼을 누르세요.)",
    },
    "ru": {
        "ticket_subject": "Re: ваше обращение №{ticket}",
        "continue": "Продолжить переписку: {link}",
        "link_days": "(Ссылка действует {days} дн.)",
        "transcript_subject": "Запись вашего чата с поддержкой",
        "you": "Вы",
        "assistant": "Ассистент",
        "support": "Поддержка",
        "sent_file": "{who} отправил(а) {name}",
        "no_messages": "(нет сообщений)",
        "digest_one": "Новый ответ в чате поддержки",
        "digest_many": "Новых ответов в чате поддержки: {n}",
        "digest_intro": "Вы просили присылать наши ответы на почту, пока вас нет в чате.",
        "digest_earlier": "(ещё {n} более ранних ответов — в чате)",
        "digest_file": "{who} отправил(а) {name} (откройте чат, чтобы посмотреть)",
        "digest_stop": "(Чтобы отключить эти письма, откройте чат и нажмите на конверт вверху.)",
    },
    "es": {
        "ticket_subject": "Re: tu ticket #{ticket}",
        "continue": "Continúa la conversación: {link}",
        "link_days": "(El enlace funciona durante {days} días.)",
        "transcript_subject": "La transcripción de tu chat de soporte",
        "you": "Tú",
        "assistant": "Asistente",
        "support": "Soporte",
        "sent_file": "{who} envió {name}",
        "no_messages": "(sin mensajes)",
        "digest_one": "Nueva respuesta en tu chat de soporte",
        "digest_many": "{n} respuestas nuevas en tu chat de soporte",
        "digest_intro": "Pediste que te enviáramos nuestras respuestas "
        "por email mientras no estás.",
        "digest_earlier": "({n} respuestas anteriores están en el chat)",
        "digest_file": "{who} envió {name} (abre el chat para verlo)",
        "digest_stop": "(Para dejar de recibir estos emails, abre el "
        "chat: el botón del sobre arriba.)",
    },
    "pt-BR": {
        "ticket_subject": "Re: seu chamado #{ticket}",
        "continue": "Continue a conversa: {link}",
        "link_days": "(O link funciona por {days} dias.)",
        "transcript_subject": "A transcrição do seu chat de suporte",
        "you": "Você",
        "assistant": "Assistente",
        "support": "Suporte",
        "sent_file": "{who} enviou {name}",
        "no_messages": "(sem mensagens)",
        "digest_one": "Nova resposta no seu chat de suporte",
        "digest_many": "{n} novas respostas no seu chat de suporte",
        "digest_intro": "Você pediu para receber nossas respostas por "
        "e-mail enquanto estiver fora.",
        "digest_earlier": "({n} respostas anteriores estão no chat)",
        "digest_file": "{who} enviou {name} (abra o chat para ver)",
        "digest_stop": "(Para parar estes e-mails, abra o chat: o botão do envelope no topo.)",
    },
    "tr": {
        "ticket_subject": "Ynt: #{ticket} numaralı talebiniz",
        "continue": "Sohbete devam edin: {link}",
        "link_days": "(Bağlantı {days} gün geçerlidir.)",
        "transcript_subject": "Destek sohbetinizin dökümü",
        "you": "Siz",
        "assistant": "Asistan",
        "support": "Destek",
        "sent_file": "{who} {name} gönderdi",
        "no_messages": "(mesaj yok)",
        "digest_one": "Destek sohbetinizde yeni bir yanıt var",
        "digest_many": "Destek sohbetinizde {n} yeni yanıt var",
        "digest_intro": "Siz yokken yanıtlarımızı e-postayla göndermemizi istediniz.",
        "digest_earlier": "(daha önceki {n} yanıt sohbette)",
        "digest_file": "{who} {name} gönderdi (görmek için sohbeti açın)",
        "digest_stop": "(Bu e-postaları durdurmak için sohbeti açıp üstteki zarf düğmesine basın.)",
    },
    "vi": {
        "ticket_subject": "Re: yêu cầu hỗ trợ #{ticket} của bạn",
        "continue": "Tiếp tục cuộc trò chuyện: {link}",
        "link_days": "(Liên kết có hiệu lực trong {days} ngày.)",
        "transcript_subject": "Nội dung cuộc trò chuyện hỗ trợ của bạn",
        "you": "Bạn",
        "assistant": "Trợ lý",
        "support": "Hỗ trợ",
        "sent_file": "{who} đã gửi {name}",
        "no_messages": "(không có tin nhắn)",
        "digest_one": "Có câu trả lời mới trong cuộc trò chuyện hỗ trợ",
        "digest_many": "Có {n} câu trả lời mới trong cuộc trò chuyện hỗ trợ",
        "digest_intro": "Bạn đã yêu cầu nhận câu trả lời qua email khi bạn rời đi.",
        "digest_earlier": "({n} câu trả lời trước đó có trong cuộc trò chuyện)",
        "digest_file": "{who} đã gửi {name} (mở cuộc trò chuyện để xem)",
        "digest_stop": "(Để ngừng nhận email này, hãy mở cuộc trò chuyện "
        "và bấm nút phong bì ở trên cùng.)",
    },
    "id": {
        "ticket_subject": "Re: tiket Anda #{ticket}",
        "continue": "Lanjutkan percakapan: {link}",
        "link_days": "(Tautan berlaku selama {days} hari.)",
        "transcript_subject": "Transkrip chat dukungan Anda",
        "you": "Anda",
        "assistant": "Asisten",
        "support": "Dukungan",
        "sent_file": "{who} mengirim {name}",
        "no_messages": "(tidak ada pesan)",
        "digest_one": "Balasan baru di chat dukungan Anda",
        "digest_many": "{n} balasan baru di chat dukungan Anda",
        "digest_intro": "Anda meminta balasan kami dikirim lewat email selama Anda pergi.",
        "digest_earlier": "({n} balasan sebelumnya ada di chat)",
        "digest_file": "{who} mengirim {name} (buka chat untuk melihatnya)",
        "digest_stop": "(Untuk berhenti menerima email ini, buka chat "
        "dan tekan tombol amplop di atas.)",
    },
    "ar": {
        "ticket_subject": "رد: تذكرتك رقم {ticket}",
        "continue": "تابع المحادثة: {link}",
        "link_days": "(يعمل الرابط لمدة {days} يومًا.)",
        "transcript_subject": "نص محادثتك مع الدعم",
        "you": "أنت",
        "assistant": "المساعد",
        "support": "الدعم",
        "sent_file": "أرسل {who} الملف {name}",
        "no_messages": "(لا توجد رسائل)",
        "digest_one": "رد جديد في محادثتك مع الدعم",
        "digest_many": "{n} ردود جديدة في محادثتك مع الدعم",
        "digest_intro": "طلبت أن نرسل إليك ردودنا بالبريد الإلكتروني أثناء غيابك.",
        "digest_earlier": "({n} من الردود السابقة موجودة في المحادثة)",
        "digest_file": "أرسل {who} الملف {name} (افتح المحادثة لرؤيته)",
        "digest_stop": "(لإيقاف هذه الرسائل، افتح المحادثة واضغط زر الظرف في أعلاها.)",
    },
}

#: The locales the mails are written in.
MAIL_LOCALES: tuple[str, ...] = tuple(_TEXTS)


def mail_locale(locale: str | None) -> str:
    """The mail locale for a conversation's locale tag (zh-TW/HK/MO/Hant -> zh-TW, zh ->
    zh-CN, pt -> pt-BR, else the primary language; English when there is none)."""
    tag = (locale or "").lower().replace("_", "-")
    primary = tag.split("-", 1)[0]
    if primary == "zh":
        rest = tag[3:]
        return "zh-TW" if rest.startswith(("tw", "hk", "mo", "hant")) else "zh-CN"
    if primary == "pt":
        return "pt-BR"
    return primary if primary in _TEXTS else "en"


def mail_text(locale: str | None, key: str, **values: object) -> str:
    """One sentence of a mail in ``locale`` (see :func:`mail_locale`), placeholders filled."""
    text = _TEXTS[mail_locale(locale)].get(key) or _EN[key]
    return text.format(**values) if values else text
