# Convenience wrappers; dev.py does the work so that a machine with only python3 needs no make.
PY ?= python3

.PHONY: test demo lint
test:
	$(PY) dev.py test
demo:
	$(PY) dev.py demo
lint:
	$(PY) dev.py lint
