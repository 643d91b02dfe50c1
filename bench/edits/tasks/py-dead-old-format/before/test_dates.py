import datetime
import pathlib

import dates


def test_helper_is_deleted():
    assert not hasattr(dates, "_old_format")
    assert "_old_format" not in pathlib.Path(dates.__file__).read_text()


def test_the_rest_still_works():
    day = datetime.date(2024, 3, 9)
    assert dates.invoice_header(7, day) == "Invoice 7 - 2024-03-09"
    assert dates.due_date(day) == datetime.date(2024, 4, 8)
