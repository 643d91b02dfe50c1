"""`python -m trainer ...` and `torchrun --nproc_per_node=N -m trainer ...`: the same
options as `hrm train`, from the one command definition."""

import typer

from hrmcli.commands.train import train_cmd

if __name__ == "__main__":
    typer.run(train_cmd)
