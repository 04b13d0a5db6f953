"""Memory sizes and durations (reference behaviour 5)."""

import pytest

from specs.workflow.units import parse_duration_s, parse_memory_mib, parse_timeout_s


@pytest.mark.parametrize("value, mib", [
    (10, 10), (1, 4), (9.1, 10), ("1G", 1024), ("9.1M", 10), ("1M", 4),
    ("1 Gb", 1024), ("1 GB", 1024), ("40 Gb", 40960), ("512 MiB", 512), ("2g", 2048),
    ("1.5 G", 1536), ("1 T", 1024 * 1024), ("1048576 b", 4), ("4096", 4096), ("16 k", 4),
])
def test_memory_in_mib(value, mib):
    assert parse_memory_mib(value) == mib


@pytest.mark.parametrize("value", ["", "lots", "12 Qb", "1 G G", "-1 G", True, None, [1], 0, -5, "0 G"])
def test_bad_memory_is_a_value_error(value):
    with pytest.raises(ValueError):
        parse_memory_mib(value)


def test_memory_error_names_the_bad_unit():
    with pytest.raises(ValueError, match="unknown memory unit 'Qb'"):
        parse_memory_mib("12 Qb")


@pytest.mark.parametrize("value, seconds", [
    ("3s", 3), ("20 m", 1200), ("1w", 604800), ("1 h", 3600), ("2d", 172800), (45, 45), ("30", 30),
])
def test_durations(value, seconds):
    assert parse_duration_s(value) == seconds


@pytest.mark.parametrize("value", ["3 x", "1.5h", "3  s", "h", "abc", "-3s", "3 seconds", 2.5, True, None])
def test_bad_durations(value):
    with pytest.raises(ValueError, match='must look like "3s"'):
        parse_duration_s(value)


def test_negative_seconds_are_refused():
    with pytest.raises(ValueError, match="negative"):
        parse_duration_s(-1)


@pytest.mark.parametrize("value, seconds", [("10 s", 60), ("1 h", 3600), (5, 60), ("61s", 61), ("2m", 120)])
def test_timeouts_are_at_least_a_minute(value, seconds):
    assert parse_timeout_s(value) == seconds
