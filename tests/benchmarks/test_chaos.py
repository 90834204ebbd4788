"""SIGKILL at random moments of a small suite with detection, rerun until done: the same rows as an
uninterrupted run (scripts/chaos.py; the 24-kill figure is results/reference/crash-safety/chaos.json)."""
import json

import pytest


@pytest.mark.slow
def test_kills_anywhere_then_reruns_give_the_uninterrupted_rows(tmp_path):
    import scripts.chaos as chaos
    out = tmp_path / 'chaos.json'
    assert chaos.main(['--kills', '8', '--seed', '1', '--out', str(out), '--keep', str(tmp_path / 'runs')]) == 0
    result = json.loads(out.read_text())
    assert result['identical'] and result['values_compared_per_episode'] > 100
    assert result['kills_done'] == 8 and sum(1 for n in result['stages_hit'].values() if n) >= 4
    first = result['episodes'][0]
    log = (tmp_path / 'runs' / 'chaos0' / 'bench.log').read_text()
    assert log.count('resumed by pid') == first['launches'] - 1 and log.rstrip().endswith('finished ====')
