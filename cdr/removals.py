"""What a rebuild left out, in words for the administrator's reports: 「マクロ削除、Exif（位置情報など）削除」.

The sanitizers report each thing as a code (``vba-macros``, ``member:blocked-type``…); the
reports show the codes too, so a code without words here loses nothing but its Japanese
(it is counted under 「その他」).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# The codes a person most often sees, in Japanese; several codes may share words.
WORDS_JA: dict[str, str] = {
    "vba-macros": "マクロ",
    "excel4-macros": "Excel 4.0 マクロ",
    "macro-name": "マクロ名",
    "auto-open-name": "自動実行マクロ名",
    "shape-macro": "図形のマクロ",
    "activex": "ActiveX",
    "ole-embedding": "埋め込みオブジェクト",
    "embedded-files": "埋め込みファイル",
    "embedded-file": "埋め込みファイル",
    "remote-template": "外部テンプレート",
    "external-reference": "外部参照",
    "external-link": "外部参照",
    "javascript-names": "JavaScript",
    "open-action": "開いたときの動作",
    "additional-actions": "自動実行の動作",
    "exif": "Exif（位置情報など）",
    "xmp-metadata": "XMP メタデータ",
    "metadata": "メタデータ",
    "document-properties": "文書のプロパティ",
    "custom-properties": "ユーザー設定のプロパティ",
    "custom-xml-data": "カスタム XML データ",
    "thumbnail": "サムネイル",
    "printer-settings": "プリンター設定",
    "embedded-font": "埋め込みフォント",
    "icc-profile": "色プロファイル",
    "trailing-data": "末尾の余分なデータ",
    "incremental-update": "追記された更新",
    "encryption": "暗号化",
    "archive-password": "パスワード",
    "control-characters": "制御文字",
    "encoded-file": "本文中の符号化されたファイル",
    "bidi-control": "文字の向きを変える制御文字",
    "html-active-elements": "スクリプトなど",
    "mail-merge-source": "差し込み印刷の参照先",
    "sub-document": "サブ文書",
    "xfa": "XFA フォーム",
    "foreign-markup": "独自の拡張データ",  # markup in a namespace the rebuild does not know (a web export's)
    "form-field-scripts": "入力欄の計算・検証のためのプログラム",
    "form-submit-action": "入力内容を送信・消去・読み込みするボタンの動作",
    "form-calculation-order": "入力欄の計算の順序",
    "properties-usage": "レイヤーの利用設定",
    # a PDF's drawing, fonts and colour functions held to their formats (cdr/sanitizers/pdf_content.py,
    # pdf_postscript.py): what does not fit is taken out, the rest of the page stays
    "drawing-operator": "描画に使われない命令",
    "drawing-compatibility-section": "互換用の描画命令",
    "marked-content-properties": "描画に付いた属性の一部",
    "drawing-damaged": "壊れていた描画データの一部",
    "drawing-unreadable": "読めない描画データ",
    "inline-image-not-its-format": "形式に合わない画像",
    "inline-image-coded": "描画の中に直接書かれたJPEGやFAX形式の小さな画像",
    "image-not-its-format": "形式に合わない画像",
    "font-file-1-not-its-format": "形式に合わないフォント（代わりのフォントで表示）",
    "font-file-2-not-its-format": "形式に合わないフォント（代わりのフォントで表示）",
    "font-file-3-not-its-format": "形式に合わないフォント（代わりのフォントで表示）",
    "stream-damaged": "壊れていたデータの読めない部分",
    "cmap-not-its-format": "形式に合わない文字の対応表",
    "encoding-not-its-format": "形式に合わない文字の対応表",
    "function-not-its-format": "形式に合わない色の計算式",
}
# Families of codes named by their beginning (``member:blocked-type``, ``formula-dde``).
PREFIXES_JA: dict[str, str] = {
    "member:": "書庫内のファイル",
    "metadata:": "メタデータ",
    "formula-": "危険な数式",
    "action-": "自動実行の動作",
    "annotation-": "注釈の動作",
    "external-": "外部参照",
    "link-": "許可されていないリンク",
    "form-": "入力欄の一部",
    "structure-": "文書構造（タグ）の一部",
    "layer-": "レイヤーの一部",
    "page-label": "ページ番号の表示の一部",
    "outline-": "しおりの一部",
}
OTHER_JA = "その他"
# What was made harmless in place rather than taken out says so in its own words.
PHRASES_JA: dict[str, str] = {
    "csv-formula": "数式の無効化",
    "mail-links": "本文のリンクを押せない形に変更",
    "share-links": "共有フォルダーへのリンクを押せない形に変更",
    "form-fields-flattened": "入力フォームを画面に固定",
    "signature-value": "電子署名削除（署名欄の見た目は残しています）",
    "xfa-form-not-kept": "XFA形式の入力フォームは残せませんでした（紙と同じ見た目で届けます）",
}
# What a rebuild kept that a person might fear lost, said as a whole sentence each.
KEPT_JA: dict[str, str] = {
    "form-fields": "入力欄は入力できる状態のまま残しました",
    "structure-elements": "読み上げに使う文書構造（タグ）を残しました",
    "page-labels": "ページ番号の表示を残しました",
    "layers": "レイヤー（表示の切り替え）を残しました",
    "outline-items": "しおりを残しました",
    "page-setup": "印刷の設定（用紙・向き・余白）はそのまま残しました",  # beside プリンター設定削除
    "object-picture": "埋め込まれていたオブジェクトは絵として残しました",
    "scanned-image-decoded": "スキャンした画像は、同じ見た目のまま別の圧縮方式に置き換えて残しました",
}
# What a sanitizer did that takes something away (re-encoding and conversion keep content).
TAKING = frozenset({"removed", "neutralised", "flattened", "defanged"})


def removed_codes(actions: Iterable[dict[str, Any]]) -> list[str]:
    """The codes of what was taken away, in the order reported, each once."""
    codes: list[str] = []
    for action in actions:
        code = str(action.get("what") or "")
        if action.get("action") in TAKING and action.get("count", 1) and code and code not in codes:
            codes.append(code)
    return codes


def kept_codes(actions: Iterable[dict[str, Any]]) -> list[str]:
    """The codes of what a rebuild says it kept (fillable fields, tags…), each once."""
    codes = [str(a.get("what") or "") for a in actions if a.get("action") == "kept" and a.get("count", 1)]
    return [code for code in dict.fromkeys(codes) if code]


def kept_words(codes: Iterable[str]) -> str:
    """「入力欄は入力できる状態のまま残しました。しおりを残しました。」: each known code once."""
    said = [KEPT_JA[code] for code in dict.fromkeys(codes) if code in KEPT_JA]
    return "".join(f"{sentence}。" for sentence in said)


def in_japanese(code: str) -> str:
    if code in WORDS_JA:
        return WORDS_JA[code]
    return next((words for prefix, words in PREFIXES_JA.items() if code.startswith(prefix)), OTHER_JA)


def removed_words(codes: Iterable[str]) -> str:
    """「マクロ削除、Exif（位置情報など）削除」: each thing once, in the order reported."""
    phrases: list[str] = []
    for code in codes:
        said = PHRASES_JA.get(code) or f"{in_japanese(code)}削除"
        if said not in phrases:
            phrases.append(said)
    return "、".join(phrases)
