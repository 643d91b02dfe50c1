"""`python -m trainer ...` and `torchrun --nproc_per_node=N -m trainer ...`: the same
options as `hrm train`, from the one command definition (trainer/cli.py)."""

from .cli import main

if __name__ == "__main__":
    main()
