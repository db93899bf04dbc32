"""The delivery presets of devtools/settings.py keep the bounds their comments promise."""

from devtools.settings import CHAOS_RECONCILE_THRESHOLD_SECONDS, CHAOS_SETTINGS, FAST_SETTINGS


def seconds(preset, name):
    return float(preset[name])


def test_both_presets_time_out_a_hung_gateway_before_the_task_limits():
    for preset in (FAST_SETTINGS, CHAOS_SETTINGS):
        assert (seconds(preset, "BRAINTREE_TIMEOUT_SECONDS") < seconds(preset, "CELERY_TASK_SOFT_TIME_LIMIT")
                < seconds(preset, "CELERY_TASK_TIME_LIMIT"))


def test_the_chaos_preset_keeps_the_production_bounds():
    # A live worker's claim is never taken over, and Redis never hands a waiting retry to a second worker.
    hard_limit = seconds(CHAOS_SETTINGS, "CELERY_TASK_TIME_LIMIT")
    assert seconds(CHAOS_SETTINGS, "PAYMENTS_CLAIM_HOLD_MAX_SECONDS") > hard_limit
    longest_countdown = seconds(CHAOS_SETTINGS, "PAYMENTS_RETRY_BACKOFF_MAX")
    assert longest_countdown + hard_limit < seconds(CHAOS_SETTINGS, "CELERY_VISIBILITY_TIMEOUT")
    assert CHAOS_RECONCILE_THRESHOLD_SECONDS > seconds(CHAOS_SETTINGS, "PAYMENTS_CLAIM_LEASE_SECONDS")


def test_the_test_preset_retries_by_the_clock():
    assert FAST_SETTINGS["PAYMENTS_RETRY_JITTER"] == "false"
    assert CHAOS_SETTINGS["PAYMENTS_RETRY_JITTER"] == "true"


def test_the_chaos_claim_is_renewed_past_the_longest_charge_the_threads_pool_cannot_cut_short():
    # No task time limit under -P threads: a charge is a search, a sale and a find, each bounded
    # only by the gateway client's timeout, and the claim must be held through all three.
    for preset in (FAST_SETTINGS, CHAOS_SETTINGS):
        timeouts = 3 * seconds(preset, "BRAINTREE_TIMEOUT_SECONDS")
        assert seconds(preset, "PAYMENTS_CLAIM_HOLD_MAX_SECONDS") > max(timeouts, seconds(preset, "CELERY_TASK_TIME_LIMIT"))


def test_both_presets_keep_a_lease_through_two_late_renewals():
    for preset in (FAST_SETTINGS, CHAOS_SETTINGS):
        assert seconds(preset, "PAYMENTS_CLAIM_LEASE_SECONDS") >= 3 * seconds(preset, "PAYMENTS_CLAIM_RENEW_SECONDS")
