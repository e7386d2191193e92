import pytest
from hypothesis import given
from hypothesis import strategies as st

from kavka.metadata.properties import PropertiesError, parse_properties


def test_separators_and_comments():
    text = "# a comment\n! another comment\n   \na=1\nb : 2\nc 3\nd=\ne\n  f  =  spaced value  \ng=x=y:z\n"
    assert parse_properties(text) == {
        "a": "1",
        "b": "2",
        "c": "3",
        "d": "",
        "e": "",
        "f": "spaced value  ",
        "g": "x=y:z",
    }


def test_hash_inside_value_is_not_a_comment():
    assert parse_properties("a=b # c\n") == {"a": "b # c"}


def test_continuation_drops_leading_whitespace():
    text = "listeners=PLAINTEXT://:9092,\\\n    CONTROLLER://:9093\nnext=1\n"
    assert parse_properties(text) == {"listeners": "PLAINTEXT://:9092,CONTROLLER://:9093", "next": "1"}


def test_continuation_line_starting_with_hash_is_value():
    assert parse_properties("a=1\\\n#2\n") == {"a": "1#2"}


def test_even_backslashes_do_not_continue():
    assert parse_properties("a=c:\\\\\nb=2\n") == {"a": "c:\\", "b": "2"}


def test_escapes():
    text = "key\\ with\\=sep\\:=tab\\there\\nnl \\u0041\\\\ \\q\n"
    assert parse_properties(text) == {"key with=sep:": "tab\there\nnl A\\ q"}


def test_crlf_and_cr_line_endings():
    assert parse_properties("a=1\r\nb=2\rc=3") == {"a": "1", "b": "2", "c": "3"}


def test_last_key_wins():
    assert parse_properties("a=1\na=2\n") == {"a": "2"}


def test_bad_unicode_escape():
    with pytest.raises(PropertiesError):
        parse_properties("a=\\u12\n")


_key = st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="=:#!\\"), min_size=1)
_value = st.text(st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="\\"))


@given(st.dictionaries(_key, _value))
def test_simple_roundtrip(props):
    text = "".join(f"{k}={v.lstrip()}\n" for k, v in props.items())
    assert parse_properties(text) == {k: v.lstrip() for k, v in props.items()}
