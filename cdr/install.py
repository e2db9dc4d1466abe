"""What ``make install`` (systemd/install.sh) asks of cdr itself, run with the installed venv.

Two questions only cdr can answer the way the daemon will later:

* ``contact POLICY TEMPLATE`` — whom staff should ask (``notice: contact:``). The value
  comes from ``CONTACT``, else the policy already installed (a re-install keeps a real
  contact), else a prompt on a terminal; the shipped placeholder (内線 0000) is refused, as
  ``NoticeOptions.contact_is_placeholder`` defines it. The policy is rewritten with only
  that value changed (comments and other keys stay) and read back before it is replaced.
* ``filesystems [--batch INBOX SPOOL]`` — the inbox and the spool of the watcher (from the
  installed configuration) and of the nightly batch share one file system, checked by the
  very function ``cdr watch`` and ``cdr batch`` refuse to start with.

Every refusal is one message, Japanese first, English below it, and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from cdr import config, yamlfile
from cdr.daemon.roots import same_filesystem
from cdr.durable import replace_file
from cdr.errors import EXIT_ERROR, EXIT_OK, CdrError, ConfigError
from cdr.policy import NoticeOptions, parse_policy

PROMPT = "お問い合わせ先（部署・内線） / contact (department, extension): "
EXAMPLE = 'make install CONTACT="総務課 情報係（内線 123）"'
PROMPT_TRIES = 3


class ContactMissing(CdrError):
    """No usable contact: notices would send staff to an extension nobody answers."""

    def __init__(self, given: str) -> None:
        first = (
            f"指定されたお問い合わせ先「{given}」は出荷時の仮の値です。"
            if given
            else "お知らせに載せるお問い合わせ先（部署・内線）が決まっていません。"
        )
        super().__init__(
            f"{first}職員が実際に問い合わせできる部署と内線を、次のように指定してください。\n"
            f"  {EXAMPLE}\n"
            "The contact printed in every notice (department and extension) is not set, or is the "
            "shipped placeholder (内線 0000); give the real one as shown above."
        )


def contact_node(root: yaml.Node | None) -> yaml.ScalarNode | None:
    """The scalar under ``notice: contact:``, or None when the policy has none."""
    for section in _values(root, "notice"):
        for value in _values(section, "contact"):
            if isinstance(value, yaml.ScalarNode):
                return value
    return None


def _values(node: yaml.Node | None, key: str) -> list[yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return []
    return [value for name, value in node.value if getattr(name, "value", None) == key]


def with_contact(text: str, source: str, contact: str) -> str:
    """``text`` with only the contact's value replaced, quoted so that any value parses
    (``総務課: 内線 123`` unquoted would read as a second key); read back to be sure."""
    root = yamlfile.compose(text, source)
    node = contact_node(root)
    # JSON's double-quoted string is a YAML double-quoted scalar; Japanese stays readable
    quoted = json.dumps(contact, ensure_ascii=False)
    if node is None and _values(root, "notice"):
        raise ConfigError(f"{source}: notice: has no contact: (add the line   contact: {quoted}   under it)")
    if node is None:
        changed = text.rstrip("\n") + f"\n\nnotice:\n  contact: {quoted}\n"
    else:
        changed = text[: node.start_mark.index] + quoted + text[node.end_mark.index :]
    if parse_policy(changed, source).notice.contact != contact:
        raise ConfigError(f"{source}: notice: contact: could not be written (it reads back differently)")
    return changed


def choose_contact(installed: str | None, given: str, ask: Callable[[], str | None] | None) -> str:
    """The contact to install: the one given, else a real one already installed, else asked
    (``ask`` answers None when the person gave up: Ctrl-D)."""
    given = given.strip()
    if given:
        if NoticeOptions(contact=given).contact_is_placeholder:
            raise ContactMissing(given)
        return given
    if installed is not None and not NoticeOptions(contact=installed).contact_is_placeholder:
        return installed
    for _try in range(PROMPT_TRIES if ask else 0):
        answer = ask()  # type: ignore[misc]
        if answer is None:
            break
        answer = answer.strip()
        if answer and not NoticeOptions(contact=answer).contact_is_placeholder:
            return answer
        print("部署と内線を入力してください（「内線 0000」は使えません） / type the department and extension")
    raise ContactMissing("")


def _ask() -> str | None:
    try:
        return input(PROMPT)
    except EOFError:  # Ctrl-D: no more asking; the refusal says how to give it instead
        print()
        return None


def install_contact(policy: Path, template: Path, given: str) -> str:
    """Write the chosen contact into ``policy`` (created from ``template`` when missing)."""
    existing = policy.exists()
    source = policy if existing else template
    text = source.read_text(encoding="utf-8")
    installed = parse_policy(text, str(source)).notice.contact if existing else None
    chosen = choose_contact(installed, given, _ask if sys.stdin.isatty() else None)
    changed = with_contact(text, str(policy), chosen)
    if changed != text or not existing:
        replace_file(policy, changed.encode("utf-8"), mode=0o644, sync_folder=True)
    return chosen


def check_filesystems(batch: list[Path] | None) -> None:
    """Refuse when an inbox and its spool are on two file systems, saying what to change."""
    settings = config.settings({})
    pairs = [("cdr.yaml", settings.inbox, settings.spool)]
    if batch:
        pairs.append(("cdr-batch.service", batch[0], batch[1]))
    problems = []
    for where, inbox, spool in pairs:
        try:
            same_filesystem(inbox, spool)
        except CdrError as exc:
            problems.append(
                f"{exc}\n"
                f"受付フォルダー {inbox} と作業フォルダー {spool} が別のファイルシステムにあります。"
                f"作業フォルダーを受付フォルダーと同じファイルシステムに置いてください"
                f"（例: {inbox.parent / 'spool'}。{where} の spool を変えます）。\n"
                f"Put the spool on the inbox's file system (e.g. {inbox.parent / 'spool'}; change spool in {where})."
            )
    if problems:
        raise ConfigError(*problems)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cdr.install", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="question", required=True)
    contact = sub.add_parser("contact", help="set notice: contact: in the installed policy")
    contact.add_argument("policy", type=Path)
    contact.add_argument("template", type=Path)
    fs = sub.add_parser("filesystems", help="inbox and spool on one file system")
    fs.add_argument("--batch", nargs=2, type=Path, metavar=("INBOX", "SPOOL"))
    args = parser.parse_args(argv)
    try:
        if args.question == "contact":
            chosen = install_contact(args.policy, args.template, os.environ.get("CONTACT", ""))
            print(f"install: お問い合わせ先 / contact: {chosen}")
        else:
            check_filesystems(args.batch)
    except CdrError as exc:
        print(f"install: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\ninstall: 中断しました / interrupted", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(f"install: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
