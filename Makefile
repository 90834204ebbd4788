# The two commands of the README. Each sets up .venv on first use (pinned requirements), then runs.
# Re-running is fast: the install step is redone only when a requirements file, pyproject.toml or setup.py
# changes. The checkout is installed editable (console scripts sslcb-bench/-evaluate/-report in .venv/bin).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# detection transfer (mmcv 2.1.0 built once from source with C++20 and cached, mmdet 3.3.0, pycocotools)
DET_STAMP := $(VENV)/.detection

.PHONY: bench test perf install clean-venv

bench: $(STAMP) $(DET_STAMP)
	$(PY) tools/bench.py $(ARGS)

test: $(STAMP) $(DET_STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

# the performance benchmark (tools/perf.py): results/perf/<name>.{json,md}
perf: $(STAMP)
	$(PY) tools/perf.py $(ARGS)

install: $(STAMP) $(DET_STAMP)

$(DET_STAMP): $(STAMP) scripts/install_detection.sh requirements-detection.txt
	scripts/install_detection.sh $(PY)
	touch $(DET_STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet 'setuptools>=77.0.3,<82' wheel
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

clean-venv:
	rm -rf $(VENV)
