"""The day parser behind every day a person types: the export options, the export form, the queue filter."""

from __future__ import annotations

from datetime import date

import pytest

from harvester.export import ExportError, parse_day as export_day
from harvester.timeutil import parse_day
from harvester.web.params import BadParameter, day as form_day


def test_a_typed_day_is_parsed_within_the_range_or_refused_in_dutch():
    assert parse_day(" 2013-05-14\n") == date(2013, 5, 14)
    assert parse_day("1900-01-01") == date(1900, 1, 1) and parse_day("9998-12-31") == date(9998, 12, 31)
    with pytest.raises(ValueError, match=r"^'14-05-2013' is geen datum; schrijf JJJJ-MM-DD, bijvoorbeeld 2013-05-14$"):
        parse_day("14-05-2013")
    with pytest.raises(ValueError, match=r"^'a\?b' is geen datum"):         # a control character cannot break the line
        parse_day("a\x00b")
    with pytest.raises(ValueError, match=r"^'x{40}…' is geen datum"):        # nor a long value fill it
        parse_day("x" * 5000)
    for outside in ("1899-12-31", "9999-12-31"):
        with pytest.raises(ValueError, match=r"^kies een datum van 1900-01-01 tot en met 9998-12-31$"):
            parse_day(outside)


def test_each_caller_names_its_own_field_before_the_same_reason():
    with pytest.raises(ExportError, match=r"^--since: '2013-13-01' is geen datum; schrijf JJJJ-MM-DD"):
        export_day("2013-13-01", "--since")
    with pytest.raises(BadParameter, match=r"^Vanaf: '2013-13-01' is geen datum; schrijf JJJJ-MM-DD, bijvoorbeeld 2013-05-14\.$"):
        form_day("2013-13-01", "Vanaf")
    assert form_day("  ", "Vanaf") is None and form_day("2013-05-14", "Vanaf") == date(2013, 5, 14)
