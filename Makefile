.PHONY: install test weights lint

install:
	python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[dev,llama]'

test:
	. .venv/bin/activate && python -m pytest -q

lint:
	. .venv/bin/activate && ruff check hrmcli trainer converters bench tests

# Reproduce the bundled model from scratch: corpus, data, training, baselines, GGUF.
weights:
	. .venv/bin/activate && bash trainer/recipes/weights.sh work-data
