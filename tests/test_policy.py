from __future__ import annotations

from pathlib import Path

import pytest

from cdr import yamlfile
from cdr.errors import ConfigError
from cdr.model import Action, FileType
from cdr.policy import Policy, load_policy, parse_policy, policy_from_json

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_policies_load() -> None:
    default = load_policy(ROOT / "policies" / "default.yaml")
    strict = load_policy(ROOT / "policies" / "strict.yaml")
    assert default.action_for(FileType.PDF) == Action.REBUILD
    assert strict.action_for(FileType.PDF) == Action.PIXELS
    assert strict.pdf.links == () and default.pdf.links == ("http", "https", "mailto")
    assert len(default.sha256) == 64 and default.sha256 != strict.sha256


def test_default_file_matches_built_in_defaults() -> None:
    shipped = load_policy(ROOT / "policies" / "default.yaml").to_json()
    assert shipped == Policy().to_json()


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "types:\n  pdf: explode\n",
            "x.yaml:2: types.pdf: 'explode' is not allowed (allowed: block, pixels, rebuild, text)",
        ),
        ("limits:\n  memroy: 1GiB\n", "x.yaml:2: limits.memroy: unknown key: did you mean memory? (allowed: "),
        ("types:\n  jpg: rebuild\n", "x.yaml:2: types.jpg: unknown key: did you mean jpeg? (allowed: pdf, jpeg,"),
        (
            "types:\n  pdf: rebild\n",
            "types.pdf: 'rebild' is not allowed: did you mean rebuild? (allowed: block, pixels, rebuild, text)",
        ),
        ("colour: blue\n", "x.yaml:1: colour: unknown key (allowed: name,"),  # nothing close: no guess
        ("limits:\n  memory: lots\n", "x.yaml:2: limits.memory: 'lots' is not a size"),
        ("types:\n  executable: rebuild\n", "types.executable: 'rebuild' is not allowed (allowed: block)"),
        ("pdf:\n  links: [http, gopher]\n", "pdf.links: 'gopher' is not allowed"),
        ("name: a\nname: b\n", "x.yaml:2: name: given twice"),
        ("types: [pdf]\n", "x.yaml:1: types: expected a mapping"),
        ("limits:\n  wall_time: [1\n", "x.yaml:"),
    ],
)
def test_bad_values_name_file_line_key_and_allowed(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_policy(text, "x.yaml")
    assert expected in str(caught.value)


def test_units() -> None:
    policy = parse_policy("limits:\n  memory: 1.5GiB\n  wall_time: 2m\n  max_file_size: 10MB\n", "x")
    assert policy.limits.memory == int(1.5 * 2**30)
    assert policy.limits.wall_time == 120 and policy.limits.max_file_size == 10**7


def test_round_trip_through_the_sandbox_encoding() -> None:
    policy = load_policy(ROOT / "policies" / "strict.yaml")
    assert policy_from_json(policy.to_json()).to_json() == policy.to_json()


@pytest.mark.parametrize(
    ("text", "line", "hint"),
    [
        ("name: mine\ntypes：\n  pdf: rebuild\n", 3, "a full-width colon"),  # PyYAML notices a line late
        ("name: mine\ntypes:\n  pdf： rebuild\n", 3, "a full-width colon"),
        ("name: mine\ntypes:\n\u3000pdf: rebuild\n", 3, "a full-width space"),
    ],
)
def test_what_a_japanese_keyboard_types_gets_a_hint(text: str, line: int, hint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_policy(text, "mine.yaml")
    problems = str(caught.value).splitlines()
    assert all(problem.startswith("mine.yaml:") for problem in problems), problems
    [hinted] = [problem for problem in problems if hint in problem]  # on the line it was typed
    assert hinted.startswith(f"mine.yaml:{line}: "), problems


def test_no_hint_where_nothing_is_full_width() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_policy("name: mine\ntypes:\n  pdf: rebuilt\n", "mine.yaml")
    assert "full-width" not in str(caught.value)


def test_the_shipped_contact_is_known_as_a_placeholder() -> None:
    assert load_policy(None).notice.contact_is_placeholder
    real = parse_policy("notice:\n  contact: 総務課 情報係（内線 2107） / General Affairs, ext. 2107\n", "town.yaml")
    assert not real.notice.contact_is_placeholder


def test_every_mistake_of_a_policy_is_named_at_once_in_the_order_of_the_file() -> None:
    text = (
        "name: town\n"  # 1
        "limits:\n"  # 2
        "  memory: lots\n"  # 3  a wrong value
        "  memroy: 1GiB\n"  # 4  an unknown key beside a right one
        "  wall_time: 2m\n"  # 5  right: not named
        "types:\n"  # 6
        "  pdf: explode\n"  # 7
        "  png: rebuild\n"  # 8  right
        "  png: block\n"  # 9  given twice
        "pdf:\n"  # 10
        "  links: [http, gopher, https, ftpx]\n"  # 11 two wrong items of one list
        "colour: blue\n"  # 12 an unknown section
        "name: again\n"  # 13
    )
    with pytest.raises(ConfigError) as caught:
        parse_policy(text, "town.yaml")
    problems = caught.value.problems
    assert str(caught.value).splitlines() == list(problems)
    assert [p.split(": ")[:2] for p in problems] == [
        ["town.yaml:3", "limits.memory"],
        ["town.yaml:4", "limits.memroy"],
        ["town.yaml:7", "types.pdf"],
        ["town.yaml:9", "types.png"],
        ["town.yaml:11", "pdf.links"],
        ["town.yaml:11", "pdf.links"],
        ["town.yaml:12", "colour"],
        ["town.yaml:13", "name"],
    ]
    assert "'gopher' is not allowed" in problems[4] and "'ftpx' is not allowed" in problems[5]
    assert problems[3].endswith("types.png: given twice") and problems[7].endswith("name: given twice")


def test_a_policy_that_is_not_a_mapping_is_one_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_policy("- pdf\n- png\n", "town.yaml")
    assert caught.value.problems == ("town.yaml:1: expected a mapping of keys to values",)


def test_an_unquoted_contact_holding_a_colon_is_told_to_be_quoted() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_policy("name: town\nnotice:\n  contact: 総務課: 内線 123\n", "town.yaml")
    assert str(caught.value) == (
        "town.yaml:3: not valid YAML: mapping values are not allowed here — the value contains ': ': "
        'put the whole value in quotes, such as contact: "総務課: 内線 123"'
    )
    quoted = parse_policy('name: town\nnotice:\n  contact: "総務課: 内線 123"\n', "town.yaml")
    assert quoted.notice.contact == "総務課: 内線 123"
    # a URL or a time holds a colon without a space after it: no hint there
    assert yamlfile.keyboard_hint("contact: https://town.example/ict 9:00-17:00\n", 1) == ""
    assert "quotes" in yamlfile.keyboard_hint("- contact: 総務課: 内線 123 # 2 階\n", 1)
