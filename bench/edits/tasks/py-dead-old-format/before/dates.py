"""Date strings for invoice headers."""

import datetime


def _old_format(day):
    return "%02d/%02d/%d" % (day.month, day.day, day.year)


def iso_date(day):
    return day.strftime("%Y-%m-%d")


def invoice_header(number, day):
    return f"Invoice {number} - {iso_date(day)}"


def due_date(day, days=30):
    return day + datetime.timedelta(days=days)
