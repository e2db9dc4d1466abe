"""clean_html against hostile HTML: the XSS cheat-sheet classics, mutation XSS, and what a mail
or a web page needs to keep (Japanese text, tables, links with an allowed scheme)."""

from __future__ import annotations

import re

import pytest

from cdr.htmlclean import clean_html, scheme_of, wrap_document

WEB = ("https", "http", "mailto")


def clean(text: str, *, defang: bool = False, **kw: object) -> str:
    return clean_html(text, link_schemes=WEB, defang=defang, **kw)  # type: ignore[arg-type]


# What must never be in the output, whatever the input: anything that runs or fetches.
_DANGER = re.compile(
    r"<\s*(script|style|iframe|frame|object|embed|applet|form|input|button|base|link|meta|svg|math"
    r"|template|noscript|textarea|select|area|map)\b|\son\w+\s*=|javascript:|vbscript:|url\(|@import"
    r"|expression|src=\"(?!cid:)|href=\"(?!https?:|mailto:)",
    re.I,
)

HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=http://xss.example/xss.js></SCRIPT>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)>",
    "<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61&#x6C&#x65&#x72&#x74>",
    '<IMG SRC="jav&#x09;ascript:alert(1);">',
    '<IMG SRC=" &#14;  javascript:alert(1);">',
    '<a href="&#x6A;avascript&colon;alert(1)">x</a>',
    '<a href="java\nscript:alert(1)">x</a>',
    '<a href="\x01javascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="file:///C:/Windows/System32/calc.exe">x</a>',
    '<a href="//evil.example/">protocol-relative</a>',
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<math><mi xlink:href=\"data:x,<script>alert(1)</script>\">x</mi></math>",
    "<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<!--<img src=\"--><img src=x onerror=alert(1)//\">",
    "<!-- <!-- nested --> <script>alert(1)</script> -->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<body onload=alert(1)>",
    '<div style="background-image: url(javascript:alert(1))">x</div>',
    '<div style="background:url(http://tracker.example/p.gif)">x</div>',
    '<div style="width: expression(alert(1));">x</div>',
    '<div style="xss:expr/*XSS*/ession(alert(1))">x</div>',
    '<div style="background:\\75\\72\\6c(http://x/)">x</div>',
    '<div style="behavior: url(x.htc)">x</div>',
    '<div style="-moz-binding: url(http://x/#xss)">x</div>',
    "<style>@import 'http://x/evil.css';</style>",
    '<link rel="stylesheet" href="http://x/evil.css">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<iframe src="http://x/"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="http://x/x.swf"></object><embed src="http://x/x.swf">',
    '<form action="http://x/"><input type=submit formaction="javascript:alert(1)"></form>',
    '<button formaction="javascript:alert(1)">x</button>',
    '<img src="http://tracker.example/pixel.gif" width=1 height=1>',
    '<img src="x" onerror="alert(1)">',
    '<img srcset="http://x/a.png 1x">',
    '<table background="http://x/bg.png"><tr><td background="javascript:alert(1)">x</td></tr></table>',
    '<a href="https://ok.example/" onmouseover="alert(1)">x</a>',
    '<div onclick="alert(1)">x</div>',
    "<template><script>alert(1)</script></template>",
    "<xmp><script>alert(1)</script></xmp>",
    "<plaintext><script>alert(1)</script>",
    '<textarea><script>alert(1)</script></textarea>',
    '<img src="cid:ok" onerror="alert(1)">',
    '<area href="javascript:alert(1)"><map><area href="http://x/"></map>',
    "<video><source onerror=alert(1)></video><audio src=http://x/a.mp3>",
    '<details open ontoggle="alert(1)">x</details>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="\\u006aavascript:alert(1)">x</a>',
    '<p style="color:\\72 ed">x</p>',
]


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("defang", [False, True])
def test_nothing_that_runs_or_fetches_survives(hostile: str, defang: bool) -> None:
    out = clean(hostile, defang=defang)
    assert not _DANGER.search(out), out
    # a second pass changes nothing: the output is a fixed point of the allow-list
    assert clean(out, defang=defang) == out


def test_japanese_text_and_structure_survive() -> None:
    page = (
        "<html><head><title>お知らせ</title><style>p{color:red}</style></head>"
        '<body><h1>令和8年度 予算</h1><p style="font-family:&quot;ＭＳ Ｐゴシック&quot;;color:#c00">'
        '本文です。</p><table border="1"><tr><td colspan="2">合計</td></tr></table></body></html>'
    )
    assert clean(page) == (
        "<h1>令和8年度 予算</h1>"
        '<p style="font-family:&quot;ＭＳ Ｐゴシック&quot;;color:#c00">本文です。</p>'
        '<table border="1"><tbody><tr><td colspan="2">合計</td></tr></tbody></table>'
    )


def test_title_and_style_sheet_do_not_become_text() -> None:
    assert clean("<head><title>題名</title><style>a{}</style></head><p>本文</p>") == "<p>本文</p>"


def test_links_keep_only_allowed_schemes_and_get_rel() -> None:
    out = clean(
        '<a href="https://www.city.example.lg.jp/">市</a><a href="mailto:kikaku@example.lg.jp">メール</a>'
        '<a href="ftp://x/">ftp</a><a href="javascript:alert(1)">js</a><a href="/relative">rel</a>'
    )
    assert out == (
        '<a href="https://www.city.example.lg.jp/" rel="noopener noreferrer">市</a>'
        '<a href="mailto:kikaku@example.lg.jp" rel="noopener noreferrer">メール</a>'
        '<a rel="noopener noreferrer">ftp</a><a rel="noopener noreferrer">js</a>'
        '<a rel="noopener noreferrer">rel</a>'
    )


def test_dangerous_schemes_never_pass_even_if_the_caller_allows_them() -> None:
    out = clean_html(
        '<a href="javascript:alert(1)">a</a><a href="data:text/html,x">b</a>',
        link_schemes=("javascript", "data", "https"),
        defang=False,
    )
    assert "href" not in out


def test_defang_turns_web_links_into_text() -> None:
    out = clean(
        '<a href="https://evil.example/login">こちら</a> または '
        '<a href="http://a.example/">http://a.example/</a> '
        'https://b.example/ <a href="mailto:x@example.jp">x</a>',
        defang=True,
    )
    assert out == (
        '<a rel="noopener noreferrer">こちら [hxxps://evil.example/login]</a> または '
        '<a rel="noopener noreferrer">hxxp://a.example/</a> '
        'hxxps://b.example/ <a href="mailto:x@example.jp" rel="noopener noreferrer">x</a>'
    )
    assert "https://" not in out and "http://" not in out


def test_pictures_only_from_cid_or_the_callers_own_data() -> None:
    html_in = (
        '<img src="cid:logo@x" alt="ロゴ"><img src="https://t.example/p.gif">'
        '<img src="data:image/png;base64,iVBORw0K"><img src="data:image/svg+xml;base64,PHN2Zz4=">'
    )
    assert clean(html_in) == '<img src="cid:logo@x" alt="ロゴ"><img><img><img>'
    own = "data:image/png;base64,iVBORw0KGgo="

    def reencode(src: str) -> str | None:
        return own if src == "cid:logo@x" else src

    out = clean(html_in, image_src=reencode)
    # the hook's own data: URL stays; whatever it passes through unchanged is checked again
    assert out == f'<img src="{own}" alt="ロゴ"><img><img src="data:image/png;base64,iVBORw0K"><img>'


def test_style_keeps_only_looks() -> None:
    assert clean('<p style="color:red;position:fixed;top:0">x</p>') == '<p style="color:red">x</p>'
    assert clean('<p style="color:red;background:url(http://x/)">x</p>') == "<p>x</p>"


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("java\tscript:alert(1)", "javascript"),
        ("\x00 JAVASCRIPT:x", "javascript"),
        ("https://x/", "https"),
        ("/relative", None),
        ("cid:a@b", "cid"),
    ],
)
def test_scheme_as_a_browser_reads_it(url: str, scheme: str | None) -> None:
    assert scheme_of(url) == scheme


def test_wrapped_document_is_utf8_and_escapes_the_title() -> None:
    doc = wrap_document("<p>本文</p>", "<題名>&")
    assert doc.startswith('<!DOCTYPE html>\n<html><head><meta charset="utf-8">')
    assert "<title>&lt;題名&gt;&amp;</title>" in doc
    assert "<body>\n<p>本文</p>\n</body>" in doc
