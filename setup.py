"""ssl-compress-bench: one registry, one runner, one evaluation suite for SSL model compression."""
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).parent


def _requirements(name):
    lines = (HERE / name).read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]


setup(
    name='ssl-compress-bench',
    version='0.1.0',
    description='Benchmarking harness for self-supervised model compression (CompRess, SEED, CRD, ...)',
    long_description=(HERE / 'README.md').read_text() if (HERE / 'README.md').exists() else '',
    long_description_content_type='text/markdown',
    python_requires='>=3.10',
    packages=['methods', 'methods.backbones', 'methods.losses', 'benchmarks', 'benchmarks.evals'],
    install_requires=_requirements('requirements.txt'),
    extras_require={
        # Detection transfer (mmcv 2.1.0 built from source with C++20, mmdet 3.3.0): added by the
        # detection-transfer work; kept as a named extra so `pip install .[detection]` is stable.
        'detection': ['pycocotools'],
        'dev': _requirements('requirements-dev.txt'),
    },
)
