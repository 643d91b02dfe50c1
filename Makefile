.PHONY: install test weights weights-scratch lint

install:
	python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[dev,llama,train]'

test:
	. .venv/bin/activate && python -m pytest -q

lint:
	. .venv/bin/activate && ruff check hrmcli trainer converters bench tests

# Reproduce the bundled model: SmolLM2-135M-Instruct retrofitted into HRM-Code and tuned on
# our edit and plan data (retrofit.sh), then tuned on short-window and inverse-kind tasks
# (continue.sh); Q8_0, held-out edit suite (resumable; state outside the tree).
STATE ?= $(HOME)/.local/share/hrmcli-state
weights:
	. .venv/bin/activate && bash trainer/recipes/retrofit.sh $(STATE) && \
	  FROM=$(STATE)/hrm-code-identity-t8-q8_0.gguf SHIP=1 bash trainer/recipes/continue.sh $(STATE)

# The earlier from-scratch tiny model (corpus, tokenizer, QAT run, equal-compute baselines).
weights-scratch:
	. .venv/bin/activate && bash trainer/recipes/weights.sh work-data
