"""<run>/bench.log: messages on the console and, timestamped, in the file; reruns append after a marker."""
import re

from benchmarks.engine.run_log import RunLog


def test_messages_go_to_console_and_file_and_reruns_append(tmp_path):
    shown = []
    log = RunLog(tmp_path / 'run' / 'bench.log', console=shown.append, argv=['tools/bench.py', '--seeds', '0,1'])
    log('teacher: training')
    log.file_only('| table |\n| row |')
    try:
        raise ValueError('boom')
    except ValueError as exc:
        log.exception(exc)
    log.close('interrupted')
    assert shown == ['teacher: training']
    again = RunLog(tmp_path / 'run' / 'bench.log', console=shown.append, argv=['tools/bench.py'], resumed=True)
    again('[moco_v2] done')
    again.close('finished')
    lines = (tmp_path / 'run' / 'bench.log').read_text().splitlines()
    stamp = r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d'
    assert re.fullmatch(rf'==== {stamp} started by pid \d+: tools/bench.py --seeds 0,1 ====', lines[0])
    assert re.fullmatch(rf'{stamp} teacher: training', lines[1])
    assert lines[2].endswith('| table |') and lines[3].endswith('| row |')
    assert any('ValueError: boom' in x for x in lines)
    markers = [x for x in lines if x.startswith('====')]
    assert [m.split()[3] for m in markers] == ['started', 'interrupted', 'resumed', 'finished']
    assert lines[-2].endswith('[moco_v2] done')
