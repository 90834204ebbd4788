"""Every bad input of tests/helpers/bad_inputs.py is refused by tools/bench.py with exit code 2 and a message
naming it, before any work: no run folder, no generated data (scripts/bad_input_table.py writes their table)."""
import pytest

from tests.helpers.bad_inputs import CASES


@pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_before_any_work(case, tmp_path, monkeypatch, capsys):
    from benchmarks.cli.bench import main
    cache = tmp_path / 'cache'
    monkeypatch.setenv('SSLCB_CACHE', str(cache))
    name, kind, build, expected = case
    work = tmp_path / 'run'
    assert main(['--work-dir', str(work), *build(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') or '\nerror: ' in err
    for text in expected:
        assert text in err, (text, err)
    assert not work.exists()                      # no run folder
    assert not (cache / 'embedded').exists()      # no data generated (and so nothing trained)


def test_input_problems_come_before_environment_problems(tmp_path, monkeypatch, capsys):
    """A misspelt method on a machine without the detection stack: the method first, the stack after."""
    import importlib.util

    from benchmarks.cli.bench import main
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None if name == 'mmdet' else real(name, *a))
    assert main(['--work-dir', str(tmp_path / 'run'), '--methods', 'compres_2q', '--evals', 'knn,detection']) == 2
    err = capsys.readouterr().err
    assert '2 problems' in err
    assert err.index('unknown method(s) compres_2q') < err.index('the detection evaluation needs mmdet')
