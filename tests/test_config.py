"""The config file is validated like the policy, and a configured policy must exist."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cdr.config import KEYS, settings
from cdr.errors import ConfigError
from tests.test_cli import speaking

ROOT = Path(__file__).resolve().parent.parent


def _cdr(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "cdr.yaml").touch()  # named by CDR_CONFIG below: it must exist, empty or not
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args],
        capture_output=True,
        text=True,
        env={**speaking("C"), "CDR_CONFIG": str(tmp_path / "cdr.yaml"), **(env or {})},  # English messages
        cwd=tmp_path,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("inbox: /srv/in\nworkres: 2\n", "cdr.yaml:2: workres: unknown key: did you mean workers? (allowed: inbox, outbox,"),
        ("mail_replay: 10.0.0.25:25\n", "cdr.yaml:1: mail_replay: unknown key: did you mean mail_relay? (allowed: "),
        ("colour: blue\n", "cdr.yaml:1: colour: unknown key (allowed: inbox, outbox,"),
        (
            "workers: two\n",
            "cdr.yaml:1: workers: 'two' is not allowed (allowed: a whole number from 1 to 64)",
        ),
        ("workers: 0\n", "cdr.yaml:1: workers: 0 is not allowed"),
        ("outbox:\n  - /a\n", "cdr.yaml:1: outbox: expected a single value"),
        ("outbox: 12\n", "cdr.yaml:1: outbox: 12 is not allowed (allowed: a path)"),
        (
            "retry_delay: soon\n",
            "cdr.yaml:1: retry_delay: 'soon' is not a duration (allowed: a number above zero with ms, s,",
        ),
        (
            "retry_delay: 2h\n",
            "cdr.yaml:1: retry_delay: '2h' is not allowed (allowed: a duration of at most 3600s)",
        ),
        ("inbox: a\ninbox: b\n", "cdr.yaml:2: inbox: given twice"),
        ("- inbox\n", "cdr.yaml:1: expected a mapping of inbox, outbox"),
        ("inbox: [unclosed\n", "cdr.yaml:2: not valid YAML"),
    ],
)
def test_a_bad_config_file_names_file_line_key_and_allowed_values(
    tmp_path: Path, text: str, expected: str
) -> None:
    (tmp_path / "cdr.yaml").write_text(text)
    run = _cdr(tmp_path, "policy", "show")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.startswith(f"cdr: error: {tmp_path}/{expected}"), run.stderr
    assert run.stderr.count("\n") == 1


def test_a_configured_policy_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "cdr.yaml").write_text("policy: /etc/cdr/no-such-policy.yaml\n")
    run = _cdr(tmp_path, "policy", "show")
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == (
        f"cdr: error: {tmp_path}/cdr.yaml:1: policy: /etc/cdr/no-such-policy.yaml does not exist "
        "(cdr does not fall back to the default policy)\n"
    )


@pytest.mark.parametrize("given", ["flag", "env"])
def test_a_policy_given_on_the_command_line_or_environment_must_exist(tmp_path: Path, given: str) -> None:
    (tmp_path / "in.txt").write_text("hello\n")
    if given == "flag":
        run = _cdr(tmp_path, "sanitize", "in.txt", "--out", "out", "--policy", "typo.yaml")
        where = "--policy"
    else:
        run = _cdr(tmp_path, "sanitize", "in.txt", "--out", "out", env={"CDR_POLICY": "typo.yaml"})
        where = "CDR_POLICY"
    assert run.returncode == 2 and run.stdout == "" and not (tmp_path / "out").exists()
    assert (
        run.stderr
        == f"cdr: error: {where}: policy: typo.yaml does not exist (cdr does not fall back to the default policy)\n"
    )


def test_relative_paths_in_the_config_file_mean_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "policy.yaml").write_text("name: town\n")
    (etc / "cdr.yaml").write_text("outbox: ../lgwan\npolicy: policy.yaml\nworkers: 3\nretry_attempts: 2\n")
    monkeypatch.setenv("CDR_CONFIG", str(etc / "cdr.yaml"))
    monkeypatch.chdir(tmp_path / "etc")
    conf = settings({"quarantine": Path("q")})
    assert conf.outbox == etc / ".." / "lgwan" and conf.policy == etc / "policy.yaml"
    assert conf.quarantine == Path("q"), "a flag is kept as given: relative to where cdr runs"
    assert (conf.workers, conf.retry_attempts, conf.retry_delay) == (3, 2, 2.0)
    monkeypatch.setenv("CDR_RETRY_DELAY", "1500ms")
    assert settings({}).retry_delay == 1.5, "the environment's text reads like the policy's durations"
    monkeypatch.setenv("CDR_WORKERS", "many")
    with pytest.raises(ConfigError, match="CDR_WORKERS: workers: 'many' is not allowed"):
        settings({})


def test_a_config_file_named_by_cdr_config_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "etc" / "cdr.yaml"
    run = _cdr(tmp_path, "policy", "show", env={"CDR_CONFIG": str(missing)})
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == (
        f"cdr: error: CDR_CONFIG: {missing} does not exist "
        "(unset it, or name /dev/null for no configuration file)\n"
    )
    assert _cdr(tmp_path, "policy", "show", env={"CDR_CONFIG": "/dev/null"}).returncode == 0


def test_every_problem_of_the_config_file_is_named_at_once(tmp_path: Path) -> None:
    """A clerk fixing cdr.yaml sees all of its mistakes in one run, one line each with
    file:line: first what the file's own lines get wrong, then a policy it names that is not
    there, then what the environment gets wrong."""
    conf = tmp_path / "cdr.yaml"
    conf.write_text(
        "inbox: /srv/in\nworkres: 2\nworkers: two\ninbox: /srv/b\npolicy: missing.yaml\nretry_delay: 2h\n"
    )
    run = _cdr(tmp_path, "policy", "show", env={"CDR_CONFIG": str(conf), "CDR_RETRY_ATTEMPTS": "0"})
    assert run.returncode == 2 and run.stdout == "" and "Traceback" not in run.stderr
    assert run.stderr.splitlines() == [
        f"cdr: error: {conf}:2: workres: unknown key: did you mean workers? (allowed: {', '.join(KEYS)})",
        f"cdr: error: {conf}:3: workers: 'two' is not allowed (allowed: a whole number from 1 to 64)",
        f"cdr: error: {conf}:4: inbox: given twice",
        f"cdr: error: {conf}:6: retry_delay: '2h' is not allowed (allowed: a duration of at most 3600s)",
        f"cdr: error: {conf}:5: policy: {tmp_path}/missing.yaml does not exist "
        "(cdr does not fall back to the default policy)",
        "cdr: error: CDR_RETRY_ATTEMPTS: retry_attempts: 0 is not allowed (allowed: a whole number from 1 to 100)",
    ]


def test_an_unquoted_value_holding_a_colon_is_told_to_be_quoted(tmp_path: Path) -> None:
    conf = tmp_path / "cdr.yaml"
    conf.write_text("inbox: /srv/in\noutbox: /srv/総務課: 共有\n")
    run = _cdr(tmp_path, "policy", "show", env={"CDR_CONFIG": str(conf)})
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    assert run.stderr.startswith(f"cdr: error: {conf}:2: not valid YAML: mapping values are not allowed here — ")
    assert "the value contains ': ': put the whole value in quotes" in run.stderr
