"""Date strings for invoice headers."""

import datetime


def iso_date(day):
    return day.strftime("%Y-%m-%d")


def invoice_header(number, day):
    return f"Invoice {number} - {iso_date(day)}"


def due_date(day, days=30):
    return day + datetime.timedelta(days=days)
