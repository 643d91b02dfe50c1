.PHONY: install test weights weights-scratch lint

install:
	python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[dev,llama,train]'

test:
	. .venv/bin/activate && python -m pytest -q

lint:
	. .venv/bin/activate && ruff check hrmcli trainer converters bench tests

# Reproduce the bundled model: SmolLM2-135M-Instruct retrofitted into HRM-Code, tuned on
# our edit and plan data, Q8_0, held-out edit suite (resumable; state outside the tree).
weights:
	. .venv/bin/activate && SHIP=1 bash trainer/recipes/retrofit.sh

# The earlier from-scratch tiny model (corpus, tokenizer, QAT run, equal-compute baselines).
weights-scratch:
	. .venv/bin/activate && bash trainer/recipes/weights.sh work-data
