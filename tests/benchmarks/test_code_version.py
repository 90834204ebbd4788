"""Cache keys follow the code: benchmarks/code_version.py."""
from benchmarks.code_version import TRAINING_SOURCES, code_version, method_sources, source_digest

SRC = '''"""Module doc."""
def f(x):
    """Doc."""
    return x + 1  # a comment
'''


def test_docstrings_comments_and_layout_do_not_count():
    same = SRC.replace('Module doc.', 'Another text.').replace('Doc.', 'Changed.').replace('# a comment', '# other')
    assert source_digest(same) == source_digest(SRC)
    assert source_digest(SRC.replace('x + 1', '(x + 1)')) == source_digest(SRC)


def test_behaviour_changes_count():
    assert source_digest(SRC.replace('x + 1', 'x + 2')) != source_digest(SRC)
    assert source_digest(SRC.replace('"""Doc."""\n', '')) == source_digest(SRC)   # only the docstring went
    assert source_digest(SRC.replace('"""Doc."""', 'print("Doc.")')) != source_digest(SRC)


def test_project_versions_are_stable_and_distinct():
    from methods import get_method
    a = code_version(TRAINING_SOURCES)
    assert a == code_version(TRAINING_SOURCES) and len(a) == 12
    moco = method_sources(get_method('moco_v2'))
    assert moco[-1] == 'methods/moco.py' and code_version(moco) != a
    assert code_version(('no/such/dir',)) == code_version(())
