"""The sandbox's layers (``cdr.sandbox.SandboxInfo.describe``: ``bubblewrap-namespaces+…``)
in words: what each one keeps a hostile file's parser from doing (cdr/sandbox.py,
cdr/confine.py). `cdr status` and the console's dashboard say them the same way."""

from __future__ import annotations

LAYERS: dict[str, tuple[str, str]] = {
    "bubblewrap-namespaces": ("装置から切り離した実行環境（名前空間）", "a separate environment (namespaces)"),
    "per-job-namespaces": ("ファイルごとに新しい実行環境", "a fresh environment per file"),
    "rlimits": ("資源の上限（メモリ・計算時間・ファイルの大きさ）", "resource limits (memory, CPU time, file size)"),
    "wall-timeout": ("時間切れで強制終了", "killed when time runs out"),
    "fd-only-io": ("受け渡しは渡されたファイルだけ", "input and output only through handed descriptors"),
    "sealed-input": ("書き換えできない入力", "a sealed, read-only input"),
    "not-dumpable": ("メモリの読み出し禁止", "memory cannot be read by others"),
    "seccomp": ("使える機能の制限（システムコール）", "system calls filtered (seccomp)"),
}


def layer_names(described: object) -> list[str]:
    """``a+b+c`` → [a, b, c]; nothing (a daemon that has not started its sandbox) → []."""
    return [name for name in str(described or "").split("+") if name]


def in_words(described: object, language: int) -> list[str]:
    """Each layer in words (0: Japanese, 1: English); a name this version has no words for,
    as itself."""
    return [LAYERS[name][language] if name in LAYERS else name for name in layer_names(described)]
