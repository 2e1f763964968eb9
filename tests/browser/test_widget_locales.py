"""The widget in the customer's language (issue 19 item 4): English built in, the other locales
fetched on demand from the widget's own server, Arabic laid out right to left, times and numbers
in the locale's own forms (Intl), and business hours said in the customer's language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import CONFIG, HostSite, NewPage
from tests.support.server import RunningServer, start_server

from .pages import W, open_widget, send_customer

pytestmark = pytest.mark.browser

L10N = "/static/widget-l10n-"


def _l10n_requests(page: Page) -> list[str]:
    """Every locale file the page asks for, recorded from now on."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if L10N in r.url else None)
    return seen


def _embed(host_site: HostSite, server: RunningServer, locale: str) -> str:
    return host_site.page(
        "/shop",
        f'<!doctype html><html><body><h1>Shop</h1><script src="{server.url}/widget.js"'
        f' data-locale="{locale}"></script></body></html>',
    )


def test_arabic_is_laid_out_right_to_left(
    server: RunningServer, new_page: NewPage, tmp_path: Path
) -> None:
    """An Arabic browser gets the widget in Arabic, mirrored: dir=rtl, the send button on the
    left of the box, the bot's bubbles on the right and the customer's on the left."""
    page = new_page(locale="ar-EG")
    open_widget(page, server.url)
    w = page.locator(f"{W} .w")
    expect(w).to_have_attribute("dir", "rtl")
    expect(w).to_have_attribute("lang", "ar-EG")
    expect(page.locator(f"{W} .head h2")).to_have_text("الدعم")
    expect(page.locator(f"{W} .comp textarea")).to_have_attribute("placeholder", "اكتب رسالة…")
    send_customer(page, "كيف أسحب USDT؟")
    expect(page.locator(f"{W} .m.me .meta .st")).to_have_text("· تم الإرسال")
    panel = page.locator(f"{W} .panel").bounding_box()
    send = page.locator(f"{W} .sendb").bounding_box()
    box = page.locator(f"{W} .comp textarea").bounding_box()
    bot = page.locator(f"{W} .m.bot .b").first.bounding_box()
    mine = page.locator(f"{W} .m.me .b").first.bounding_box()
    assert panel and send and box and bot and mine
    assert send["x"] + send["width"] <= box["x"]  # send button left of the text box
    # The bot's bubble hugs the right edge, the customer's the left edge
    assert panel["x"] + panel["width"] - (bot["x"] + bot["width"]) < 40
    assert mine["x"] - panel["x"] < 40
    # Each message reads in its own direction: the customer's Arabic right to left, the bot's
    # English greeting left to right (dir=auto), in the mirrored layout
    direction = "e => getComputedStyle(e).direction"
    assert page.locator(f"{W} .m.me .b").first.evaluate(direction) == "rtl"
    assert page.locator(f"{W} .m.bot .b").first.evaluate(direction) == "ltr"
    # Times in the locale's own digits (Intl: Arabic-Indic in ar-EG)
    time = page.locator(f"{W} .m.me time").text_content() or ""
    assert any("\u0660" <= ch <= "\u0669" for ch in time), time
    page.screenshot(path=str(tmp_path / "widget-ar.png"))
    page.set_viewport_size({"width": 390, "height": 760})
    page.screenshot(path=str(tmp_path / "widget-ar-phone.png"))
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_a_japanese_browser_sees_japanese(
    server: RunningServer, new_page: NewPage, tmp_path: Path
) -> None:
    """ja-JP: the launcher, header, composer and sending state are Japanese; no English left."""
    page = new_page(locale="ja-JP")
    requests = _l10n_requests(page)
    open_widget(page, server.url)
    expect(page.locator(f"{W} .w")).to_have_attribute("lang", "ja-JP")
    expect(page.locator(f"{W} .head h2")).to_have_text("サポート")
    expect(page.locator(f"{W} .hb")).to_have_text("オペレーターと話す")
    expect(page.locator(f"{W} .launch")).to_have_attribute("aria-label", "チャットを最小化")
    send_customer(page, "出金が届きません")
    expect(page.locator(f"{W} .m.me .meta .st")).to_have_text("· 送信済み")
    assert requests == [server.url + L10N + "ja.js"]
    page.set_viewport_size({"width": 390, "height": 760})
    page.screenshot(path=str(tmp_path / "widget-ja-phone.png"))


def test_zh_hk_on_the_script_tag_gives_traditional_chinese(
    server: RunningServer, new_page: NewPage, host_site: HostSite
) -> None:
    """data-locale="zh-HK" (on another site, in an English browser) maps to zh-TW: traditional
    characters, fetched from the widget's server, not the host site."""
    page = new_page(locale="en-US")
    requests = _l10n_requests(page)
    page.goto(_embed(host_site, server, "zh-HK"))
    page.locator(f"{W} .launch").click()
    expect(page.locator(f"{W} .head h2")).to_have_text("線上客服")
    expect(page.locator(f"{W} .hb")).to_have_text("轉接真人客服")
    assert requests == [server.url + L10N + "zh-TW.js"]


@pytest.mark.parametrize(
    ("browser_locale", "script_locale", "file"),
    [("pt-PT", "", "pt-BR"), ("es-MX", "", "es"), ("fr-FR", "ko-KR", "ko")],
)
def test_locale_negotiation(
    server: RunningServer,
    new_page: NewPage,
    host_site: HostSite,
    browser_locale: str,
    script_locale: str,
    file: str,
) -> None:
    """Any Portuguese is pt-BR, a regional Spanish is es, data-locale beats the browser."""
    page = new_page(locale=browser_locale)
    requests = _l10n_requests(page)
    page.goto(_embed(host_site, server, script_locale))
    page.locator(f"{W} .launch").click()
    expect(page.locator(f"{W} .m.bot").first).to_be_visible()
    assert requests == [server.url + L10N + file + ".js"]
    assert page.locator(f"{W} .head h2").text_content() != "Support"


def test_english_loads_nothing_more(server: RunningServer, new_page: NewPage) -> None:
    """English is built in: an English browser makes no request for a locale file."""
    page = new_page(locale="en-US")
    requests = _l10n_requests(page)
    open_widget(page, server.url)
    send_customer(page, "hi")
    expect(page.locator(f"{W} .m.me .meta .st")).to_have_text("· Sent")
    assert requests == []


def test_an_unknown_locale_falls_back_to_english(
    server: RunningServer, new_page: NewPage, host_site: HostSite
) -> None:
    """data-locale="xx" in a French browser (neither shipped): English, nothing fetched."""
    page = new_page(locale="fr-FR")
    requests = _l10n_requests(page)
    page.goto(_embed(host_site, server, "xx"))
    page.locator(f"{W} .launch").click()
    expect(page.locator(f"{W} .head h2")).to_have_text("Support")
    expect(page.locator(f"{W} .w")).to_have_attribute("dir", "ltr")
    assert requests == []


def test_a_locale_file_that_fails_to_load_leaves_an_english_widget(
    server: RunningServer, new_page: NewPage
) -> None:
    """The locale file unreachable (blocked here): the widget still appears, in English."""
    page = new_page(locale="vi-VN")
    page.route("**/widget-l10n-*", lambda route: route.abort())
    open_widget(page, server.url)
    expect(page.locator(f"{W} .head h2")).to_have_text("Support")
    expect(page.locator(f"{W} .w")).to_have_attribute("lang", "en")


TODAY = dt.datetime.now(dt.UTC).date()
BACK = dt.datetime.combine(TODAY + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
HOURS = (
    '[hours]\ntimezone = "UTC"\nholidays = ["'
    + TODAY.isoformat()
    + '"]\n'
    + "".join(f'{day} = ["00:00-24:00"]\n' for day in DAYS)
)


@pytest.fixture
def closed_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A chatd closed today (a holiday), open again at midnight UTC."""
    srv = start_server(tmp_path / "data", config_text=CONFIG + HOURS)
    yield srv
    if srv.proc.poll() is None:
        srv.stop()


def test_outside_business_hours_the_widget_says_when_people_are_back(
    closed_server: RunningServer, new_page: NewPage
) -> None:
    """Closed: the header says when people are back (weekday and time, in Spanish here), and
    "talk to a person" offers the message form saying the same."""
    page = new_page(locale="es-ES", timezone_id="UTC")
    open_widget(page, closed_server.url)
    weekday = page.evaluate(
        "ts => new Date(ts * 1000).toLocaleDateString('es-ES', {weekday: 'long'})",
        BACK.timestamp(),
    )
    line = f"Ahora estamos fuera de horario; volvemos el {weekday} a las 00:00."
    expect(page.locator(f"{W} .head p")).to_have_text(line)
    page.locator(f"{W} .hb").click()
    expect(page.locator(f"{W} form.card p").first).to_have_text(
        line + " Deja un mensaje y te responderemos aquí."
    )


def test_closed_in_traditional_chinese_needs_no_space_between_sentences(
    closed_server: RunningServer, new_page: NewPage
) -> None:
    """Chinese runs its sentences together: the closed notice and the invitation to leave a
    message are joined without a space, the day and time as Taiwan's Intl writes them."""
    page = new_page(locale="zh-TW", timezone_id="UTC")
    open_widget(page, closed_server.url)
    page.locator(f"{W} .hb").click()
    when = page.evaluate(
        """ts => [{weekday: 'long'}, {hour: '2-digit', minute: '2-digit'}].map(
            (o) => new Date(ts * 1000).toLocaleString('zh-TW', o))""",
        BACK.timestamp(),
    )
    expect(page.locator(f"{W} form.card p").first).to_have_text(
        f"目前為非服務時間，真人客服將於{when[0]} {when[1]} 恢復服務。請留言，我們會在這裡回覆您。"
    )
