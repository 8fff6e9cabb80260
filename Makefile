# Convenience wrappers; dev.py does the work so that a machine with only python3 needs no make.
PY ?= python3

.PHONY: test test-scale demo lint
test:
	$(PY) dev.py test
demo:
	$(PY) dev.py demo
lint:
	$(PY) dev.py lint
test-scale:
	$(PY) dev.py test-scale
