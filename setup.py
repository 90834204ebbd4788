"""ssl-compress-bench: one registry, one runner, one evaluation suite for SSL model compression.

Metadata, dependencies and the console scripts are in pyproject.toml; this shim says what goes into
the wheel: the `methods` and `benchmarks` packages with all their subpackages (tests/ and tools/ stay
out), and configs/. configs/ stays at the top of the checkout (the suites name it there); in the wheel
it is the package `benchmarks._configs` (package_dir maps it onto configs/; its folders are listed as
namespace packages, so every config file goes in as a module file and setuptools warns about none),
which benchmarks/config.py reads when it is not running from a checkout. The folder layout is kept, so
the suites' relative ``_base_`` references (``../_base_/...``) resolve inside the installed copy.
Config files other than .py would need a ``package_data`` entry; the class lists of benchmarks/data/class_lists/
(ImageNet-100's) have one.
"""
from setuptools import find_namespace_packages, find_packages, setup

CONFIG_PACKAGES = ['benchmarks._configs'] + [
    f'benchmarks._configs.{name}'
    for name in find_namespace_packages(where='configs', exclude=['__pycache__', '*.__pycache__'])]

setup(
    packages=find_packages(include=['methods', 'methods.*', 'benchmarks', 'benchmarks.*']) + CONFIG_PACKAGES,
    package_dir={'benchmarks._configs': 'configs'},
    package_data={'benchmarks.data': ['class_lists/*.txt']},
)
