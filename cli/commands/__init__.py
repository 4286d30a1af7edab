"""Subcommands. Each module defines NAME, HELP, add_arguments(parser) and run(args).

Modules import their heavy dependencies (torch, hls4ml) inside ``run`` so that
``hashhls --help`` stays fast. Order here is the order ``hashhls --help`` lists.
"""

from . import attack, build, csim, export, faults, gi, replay, sweep, train, transfer, vivado

COMMANDS = [train, gi, export, build, csim, vivado, attack, replay, transfer, faults, sweep]
