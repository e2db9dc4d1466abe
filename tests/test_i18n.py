"""The administrator's language: the same command under LANG=ja_JP.UTF-8 and LANG=C, and a
catalogue that holds every text the code marks for translation.

The ja_JP locale is not generated on these machines, on purpose: Python's gettext reads
only the environment's variables, and so must the appliance.
"""

from __future__ import annotations

import ast
import gettext
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cdr import i18n
from cdr.audit import head_path
from tests.test_cli import LOCALE_VARIABLES, speaking
from tests.test_cli import _terminal_cells as cells

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ROOT / "cdr" / "locale" / "ja" / "LC_MESSAGES"
JA = "ja_JP.UTF-8"


def cdr(*args: str | Path, lang: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        cwd=ROOT,
        env={**speaking(lang), "CDR_CONFIG": "/dev/null"},
    )


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two files held in a quarantine (a program, and one with a long Japanese name): the
    quarantine folder and the audit log."""
    tmp = tmp_path_factory.mktemp("held")
    (tmp / "in").mkdir()
    (tmp / "in" / "tool.exe").write_bytes(Path("/bin/true").read_bytes())
    (tmp / "in" / "令和6年度_補正予算_説明資料_最終版_確定_提出用.pdf").write_bytes(Path("/bin/ls").read_bytes())
    run = cdr("sanitize", tmp / "in", "--out", tmp / "o", "--quarantine", tmp / "q", "--audit", tmp / "a.jsonl", lang="C")
    assert run.returncode == 1 and len(run.stdout.splitlines()) == 2, run.stdout + run.stderr
    return tmp / "q", tmp / "a.jsonl"


@pytest.mark.parametrize(
    ("lang", "count", "heading"),
    [
        (JA, "お預かり記録: 2 件", "受付番号   日時         理由                              ファイル"),
        ("C", "2 entries in quarantine", "number     when         reason                type        file"),
    ],
)
def test_quarantine_list_in_both_languages_fits_80_cells(
    held: tuple[Path, Path], lang: str, count: str, heading: str
) -> None:
    run = cdr("quarantine", "list", "--quarantine", held[0], lang=lang)
    lines = run.stdout.splitlines()
    assert run.returncode == 0 and lines[:2] == [count, heading], run.stdout
    assert len(lines) == (6 if lang == JA else 4) and all(cells(line) <= 80 for line in lines), lines
    assert any(line.rstrip().endswith("提出用.pdf") and "…" in line for line in lines[2:])
    if lang == JA:  # the reason in a few words beside its code; the key to the * at the end
        assert all("  受け入れない形式 blocked-type" in line or "  名前の偽装 extension-mismatch" in line for line in lines[2:4])
        assert lines[-2:] == [
            "* は届け済みの記録です（パスワード解除・再処理・原本の引き渡しのあと）。",
            "種類と詳しい理由は cdr quarantine show 受付番号 で見られます。",
        ]


def test_audit_verify_says_intact_or_broken_in_both_languages(held: tuple[Path, Path], tmp_path: Path) -> None:
    log = tmp_path / "a.jsonl"
    log.write_bytes(held[1].read_bytes())
    head_path(log).write_bytes(head_path(held[1]).read_bytes())  # a log without its head is broken
    records = len(log.read_text().splitlines())
    good = {lang: cdr("audit", "verify", "--audit", log, lang=lang) for lang in (JA, "C")}
    assert (good[JA].returncode, good[JA].stdout.splitlines()[-1]) == (0, f"{log}: 監査ログの連鎖は正常です（{records} 件）")
    assert (good["C"].returncode, good["C"].stdout.splitlines()[-1]) == (0, f"{log}: OK, {records} records, chain intact")
    lines = log.read_text().splitlines()
    first = json.loads(lines[0])
    first["input"] = "edited.exe"  # someone hides what came in
    log.write_text("\n".join([json.dumps(first, ensure_ascii=False), *lines[1:]]) + "\n")
    broken = {lang: cdr("audit", "verify", "--audit", log, lang=lang) for lang in (JA, "C")}
    assert broken[JA].returncode == 1 and broken["C"].returncode == 1
    assert broken[JA].stdout.splitlines()[-1] == (
        f"{log}: 監査ログの連鎖が壊れています（正常な記録は 0 件まで）: "
        "a.jsonl の 1 行目（seq 1）: 記録が書き換えられています（ハッシュが一致しません）"
    ), "the problem too in the administrator's language"
    assert broken["C"].stdout.splitlines()[-1] == (
        f"{log}: BROKEN after 0 good records: a.jsonl line 1 (seq 1): the record was edited (its hash does not match)"
    )


def test_a_held_file_and_a_failed_unlock_say_why_in_the_administrators_words(tmp_path: Path) -> None:
    """The reason in the administrator's language beside its code; the child's English message
    ("the zip file is encrypted; …") is left to --json, the -v log and quarantine show."""
    import pyzipper

    with pyzipper.AESZipFile(tmp_path / "見積書.zip", "w", encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(b"Kuma-2024")
        archive.writestr("見積書.txt", "見積金額 120,000円\n")
    places = ("--quarantine", tmp_path / "q", "--audit", tmp_path / "a.jsonl", "--spool", tmp_path / "spool")
    held = cdr("sanitize", tmp_path / "見積書.zip", "--out", tmp_path / "out", *places, lang=JA)
    [line] = held.stdout.splitlines()
    assert held.returncode == 1 and line.startswith(
        "隔離しました 見積書.zip  パスワードで保護されています（パスワードで解除できます） [encrypted]  id="
    ), held.stdout
    [meta] = [json.loads(p.read_text()) for p in (tmp_path / "q").glob("*/meta.json")]
    number = meta["id"][-8:-4] + "-" + meta["id"][-4:]
    unlock = {
        lang: subprocess.run(
            [sys.executable, str(ROOT / "cli.py"), "quarantine", "unlock", number.lower().replace("-", ""), *map(str, places),
             "--outbox", str(tmp_path / "out")],
            input="wrong\n", capture_output=True, text=True, encoding="utf-8", timeout=120, cwd=ROOT,
            env={**speaking(lang), "CDR_CONFIG": "/dev/null"},
        )
        for lang in (JA, "C")
    }
    assert (unlock[JA].returncode, unlock[JA].stdout) == (1, f"{number} は隔離されたままです: パスワードが違います [wrong-password]\n")
    assert (unlock["C"].returncode, unlock["C"].stdout) == (1, f"{number} stays in quarantine: the password is wrong [wrong-password]\n")


def _help(words: tuple[str, ...], lang: str) -> str:
    env = {**speaking(lang), "COLUMNS": "80", "CDR_CONFIG": "/dev/null"}
    run = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *words, "--help"],
        capture_output=True, text=True, encoding="utf-8", timeout=120, cwd=ROOT, env=env,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.mark.parametrize("words", [(), ("report", "daily"), ("quarantine", "unlock"), ("outbox", "clean"), ("sanitize",)])
def test_help_fits_an_80_column_terminal_in_both_languages(words: tuple[str, ...]) -> None:
    """argparse wraps by characters; a Japanese character takes two cells (117 of them, before)."""
    for lang in (JA, "C"):
        wide = [line for line in _help(words, lang).splitlines() if cells(line) > 80]
        assert not wide, (lang, wide)
    if words == ("report", "daily"):  # broken after the sentence, not inside a word
        assert "  --dept D           一つの部署（受け取りフォルダの中の部署フォルダ名。\n" in _help(words, JA)


def test_usage_errors_in_both_languages(tmp_path: Path) -> None:
    (tmp_path / "q").mkdir()
    missing = {lang: cdr("quarantine", "show", "zzzz-zzzz", "--quarantine", tmp_path / "q", lang=lang) for lang in (JA, "C")}
    assert (missing[JA].returncode, missing[JA].stderr) == (
        2,
        f"cdr: エラー: zzzz-zzzz: {tmp_path / 'q'} に該当する隔離はありません\n",
    )
    assert (missing["C"].returncode, missing["C"].stderr) == (2, f"cdr: error: zzzz-zzzz: no entry in {tmp_path / 'q'}\n")
    # argparse's own words come from the same catalogue
    bare = cdr("sanitize", lang=JA)
    assert bare.returncode == 2 and "Traceback" not in bare.stderr
    assert bare.stderr.startswith("使い方: cdr sanitize ")
    assert bare.stderr.endswith("cdr sanitize: エラー: 次の引数が必要です: PATH, --out\n"), bare.stderr
    assert cdr("sanitize", lang="C").stderr.endswith(
        "cdr sanitize: error: the following arguments are required: PATH, --out\n"
    )
    helped = cdr("quarantine", "--help", lang=JA).stdout
    assert "list      隔離中のファイルを一覧にします" in helped and "-h, --help  このヘルプを表示して終了します" in helped


def test_policy_check_names_every_mistake_at_once(tmp_path: Path) -> None:
    policy = tmp_path / "town.yaml"
    policy.write_text("name: town\nlimts:\n  memory: 1GiB\ntypes:\n  pdf: explode\nlimits:\n  memory: lots\n")
    ja = cdr("policy", "check", policy, lang=JA)
    assert (ja.returncode, ja.stdout) == (2, "")
    assert ja.stderr.splitlines() == [
        f"cdr: エラー: {policy}:2: limts: このキーは使えません。limits のことではありませんか（使えるキー: {', '.join(_top_keys())}）",
        f"cdr: エラー: {policy}:5: types.pdf: 'explode' は使えません（使える値: block, pixels, rebuild, text）",
        f"cdr: エラー: {policy}:7: limits.memory: 'lots' は大きさとして読めません"
        "（使える書き方: 正の数に B、KB、KiB、MB、MiB、GB、GiB のどれかを付けたもの）",
    ]
    english = cdr("policy", "check", policy, lang="C")
    assert english.returncode == 2 and [line.split(": ")[2:4] for line in english.stderr.splitlines()] == [
        [f"{policy}:2", "limts"],
        [f"{policy}:5", "types.pdf"],
        [f"{policy}:7", "limits.memory"],
    ]
    assert "'lots' is not a size (allowed: a positive number" in english.stderr
    policy.write_text("name: town\nnotice:\n  contact: 総務課: 内線 123\n")
    quoted = cdr("policy", "check", policy, lang=JA)
    assert quoted.stderr == (
        f"cdr: エラー: {policy}:3: YAML として読めません: ここには「キー: 値」を書けません — "
        '値に「: 」が含まれています。値全体を引用符で囲んでください（例: contact: "総務課: 内線 123"）\n'
    )


def _top_keys() -> tuple[str, ...]:
    from cdr.policy import TOP_KEYS

    return TOP_KEYS


def test_status_lines_up_in_japanese_within_80_cells(tmp_path: Path) -> None:
    (tmp_path / "spool").mkdir()
    status = {"pid": 1, "heartbeat": 0, "started": "2026-11-29T00:00:00.125Z", "inbox": "/srv/cdr/inbox"}
    status |= {"outbox": "/srv/cdr/outbox", "today": {"released": 3, "quarantined": 1}, "contact_placeholder": True}
    status |= {"policy": "default", "sandbox": "bubblewrap-namespaces+per-job-namespaces+rlimits+wall-timeout+fd-only-io+"
               "sealed-input+not-dumpable+seccomp"}  # as the daemon reports it: 100 characters
    (tmp_path / "spool" / "status.json").write_text(json.dumps(status))
    run = cdr("status", "--spool", tmp_path / "spool", "--audit", tmp_path / "none.jsonl", lang=JA)
    lines = run.stdout.splitlines()
    assert run.returncode == 1 and all(cells(line) <= 80 for line in lines), lines
    assert lines[0] == "常駐処理:    停止しています（pid 1、2026-11-29 09:00:00 から）", "Japan time, as the problems"
    assert "今日:        0 件" in lines, "today's files are read from the audit log (none), as cdr report daily"
    assert "書き込み中:  0 件（閉じられてから受け付けます）" in lines  # the label is not said again
    at = lines.index("ポリシー:    default。サンドボックス: 装置から切り離した実行環境（名前空間）、")
    assert lines[at + 1 : at + 6] == [  # each layer in words, as the console's dashboard, whole on a line
        "             ファイルごとに新しい実行環境、",
        "             資源の上限（メモリ・計算時間・ファイルの大きさ）、",
        "             時間切れで強制終了、受け渡しは渡されたファイルだけ、",
        "             書き換えできない入力、メモリの読み出し禁止、",
        "             使える機能の制限（システムコール）",
    ]
    at = lines.index("連絡先:      お知らせの問い合わせ先が仮の「内線 0000」のままです。")
    assert lines[at + 1] == "             ポリシーの notice.contact に部署と内線を書いてください。"
    assert lines[-2:] == ["問題:        現在はありません", "メール:      使っていません（mail_relay が空です）"]


# ------------------------------------------------------------------ choosing the language
@pytest.mark.parametrize("journal", [True, False], ids=["journal", "a file"])
def test_a_command_whose_stderr_is_the_journal_speaks_english(tmp_path: Path, journal: bool) -> None:
    """A service or timer (systemd sets JOURNAL_STREAM to its stderr's device:inode) writes
    English to the journal even on a server whose locale is Japanese; a program it starts
    with another stderr inherits the variable and still speaks the locale's language."""
    import os

    stderr = tmp_path / "stderr"
    with stderr.open("w") as stream:
        named = os.fstat(stream.fileno()) if journal else os.stat(ROOT / "cli.py")
        subprocess.run(
            [sys.executable, str(ROOT / "cli.py"), "quarantine", "show", "zzzz-zzzz", "--quarantine", tmp_path],
            stderr=stream,
            timeout=120,
            env={**speaking(JA), "CDR_CONFIG": "/dev/null", "JOURNAL_STREAM": f"{named.st_dev}:{named.st_ino}"},
        )
    said = stderr.read_text(encoding="utf-8")
    assert said == (f"cdr: error: zzzz-zzzz: no entry in {tmp_path}\n" if journal else f"cdr: エラー: zzzz-zzzz: {tmp_path} に該当する隔離はありません\n")


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in LOCALE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch
    i18n.speak_english()


@pytest.mark.parametrize(
    ("variables", "japanese"),
    [
        ({"LANG": "ja_JP.UTF-8"}, True),
        ({"LANG": "ja_JP.eucJP"}, True),
        ({"LANG": "C"}, False),
        ({"LANG": "en_US.UTF-8"}, False),
        ({}, False),
        ({"LC_ALL": "ja_JP.UTF-8", "LANG": "C"}, True),
        ({"LC_ALL": "C", "LANG": "ja_JP.UTF-8"}, False),
        ({"LC_MESSAGES": "ja_JP.UTF-8", "LANG": "en_US.UTF-8"}, True),
        ({"LANGUAGE": "ja:en", "LANG": "en_US.UTF-8"}, True),
    ],
)
def test_the_language_comes_from_the_variables_gettext_reads(
    environment: pytest.MonkeyPatch, variables: dict[str, str], japanese: bool
) -> None:
    for name, value in variables.items():
        environment.setenv(name, value)
    assert i18n._("cancelled") == "cancelled", "nothing is translated before the program asks"
    i18n.speak_the_environment_language()
    assert i18n._("cancelled") == ("取り消しました" if japanese else "cancelled")


# ------------------------------------------------------------------ the catalogue
def _marked() -> Iterator[tuple[str, int, str | tuple[str, str]]]:
    """Every text the code marks (``_``, ``N_``, ``ngettext``): file, line, msgid."""
    for path in [ROOT / "cli.py", *sorted((ROOT / "cdr").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            name = node.func.id
            if name not in ("_", "N_", "ngettext") or not node.args:
                continue
            texts = node.args[:2] if name == "ngettext" else node.args[:1]
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            # a text built at run time (an f-string, a variable) cannot be found in a catalogue
            if name != "_" or isinstance(texts[0], ast.Constant):
                assert all(isinstance(t, ast.Constant) and isinstance(t.value, str) for t in texts), where
                yield where, node.lineno, (texts[0].value, texts[1].value) if name == "ngettext" else texts[0].value


def _catalogue(mo: Path) -> dict[object, str]:
    with mo.open("rb") as stream:
        return dict(gettext.GNUTranslations(stream)._catalog)


def _fields(text: str) -> set[str]:
    return set(re.findall(r"\{(\w*)\}", text)) | set(re.findall(r"%\((\w+)\)", text))


def test_every_marked_text_has_a_japanese_translation() -> None:
    catalogue = _catalogue(MESSAGES / "cdr.mo")
    marked = list(_marked())
    assert len(marked) > 150  # the walk found the code's texts
    missing = []
    for where, _line, msgid in marked:
        key = (msgid[0], 0) if isinstance(msgid, tuple) else msgid
        japanese = catalogue.get(key)
        if not japanese:
            missing.append(f"{where}: {msgid!r}")
            continue
        english = " ".join(msgid) if isinstance(msgid, tuple) else msgid
        assert _fields(japanese) == _fields(english), f"{where}: the fields of {msgid!r} differ in Japanese"
    assert not missing, "\n".join(missing)


def test_the_catalogue_holds_no_fuzzy_entry_and_the_shipped_mo_is_its_po_compiled(tmp_path: Path) -> None:
    po = (MESSAGES / "cdr.po").read_text(encoding="utf-8")
    assert "#, fuzzy" not in po and "fuzzy," not in po
    subprocess.run(["msgfmt", "--check", "-o", tmp_path / "cdr.mo", MESSAGES / "cdr.po"], check=True)
    assert _catalogue(MESSAGES / "cdr.mo") == _catalogue(tmp_path / "cdr.mo"), "run `make locale`"
