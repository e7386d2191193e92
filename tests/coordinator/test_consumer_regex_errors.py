"""A bad subscription regex is described as Kafka describes it (RE2J's words, which Kafka compiles
regexes with; "missing closing ]" is checked against Kafka itself in tests/oracle/test_oracle_groups)."""

from __future__ import annotations

import re

import pytest

from kavka.coordinator.group.consumer import compile_regex, regex_error


@pytest.mark.parametrize(
    ("pattern", "description"),
    [
        ("[unclosed", "missing closing ]"),
        ("(open", "missing closing )"),
        ("close)", "unexpected )"),
        ("*start", "missing argument to repetition operator"),
        ("a**", "invalid nested repetition operator"),
        ("trailing\\", "trailing backslash at end of expression"),
        ("[z-a]", "invalid character class range"),
    ],
)
def test_regex_errors_read_as_kafkas(pattern, description):
    with pytest.raises(re.error) as failed:
        compile_regex(pattern)
    assert regex_error(failed.value) == description
