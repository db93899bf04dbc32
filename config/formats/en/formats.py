"""Date formats of the admin and every template (FORMAT_MODULE_PATH): timestamps to the second.

Django's English default ("Dec. 7, 2026, 6:36 p.m.") shows six events of one second as the same
minute; a payment's log needs the order of its steps.
"""

DATETIME_FORMAT = "Y-m-d H:i:s"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
