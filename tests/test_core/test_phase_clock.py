"""A prune's time split into phases counts each second once."""
import time

from mmprune.core.structured.phase_clock import PhaseClock


def test_nested_phases_count_for_themselves_alone():
    clock = PhaseClock()
    with clock.phase('check'):
        time.sleep(0.05)
        with clock.phase('measures'):
            time.sleep(0.1)
        clock.timed('measures', time.sleep)(0.05)
    s = clock.seconds
    assert 0.05 <= s['check'] < 0.1
    assert 0.15 <= s['measures'] < 0.2
    # in the order the phases run, not the order they were entered
    assert list(clock.rounded()) == ['measures', 'check']
    assert clock.timed('measures', None) is None
