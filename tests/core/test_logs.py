"""payments/core/logs.py: logfmt lines and the demoted Celery success line."""

import logging

from celery.app.trace import LOG_SUCCESS

from payments.core.logs import DemoteTaskSuccess, logfmt


def test_logfmt_quotes_values_with_spaces_and_leaves_out_none():
    assert logfmt("evt", a="x", b="two words", c=None, d=3) == 'evt a=x b="two words" d=3'
    assert logfmt("evt", q='say "hi"') == r'evt q="say \"hi\""'


def record(msg, level=logging.INFO):
    return logging.LogRecord("celery.app.trace", level, __file__, 1, msg, None, None)


def test_the_task_success_line_is_demoted_to_debug():
    # given a logger at INFO
    logging.getLogger("celery.app.trace").setLevel(logging.INFO)
    success = record(LOG_SUCCESS)
    # when / then it is dropped at INFO, and would show as DEBUG at DEBUG
    assert DemoteTaskSuccess().filter(success) is False
    assert success.levelname == "DEBUG"
    logging.getLogger("celery.app.trace").setLevel(logging.DEBUG)
    assert DemoteTaskSuccess().filter(record(LOG_SUCCESS)) is True
    logging.getLogger("celery.app.trace").setLevel(logging.NOTSET)


def test_task_errors_keep_their_level():
    failure = record("Task %(name)s[%(id)s] %(description)s: %(exc)s", logging.ERROR)
    assert DemoteTaskSuccess().filter(failure) is True
    assert failure.levelno == logging.ERROR
