"""`gradcheck cache info|clear`: the result cache of verify and check."""

from __future__ import annotations

import typer

from gradcheck.model import ExitCode

app = typer.Typer(
    help="The result cache: verdicts stored so that a re-run costs an import, under "
    "$XDG_CACHE_HOME/gradcheck (default ~/.cache/gradcheck).",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def info() -> None:
    """Print where the cache is, how many verdicts it holds and their size."""
    from gradcheck.cache import Cache, directory

    cache = Cache(directory())
    count, size = cache.size()
    typer.echo(f"{cache.root}\n{count} verdicts, {size / 1024:.0f} KiB")
    raise typer.Exit(int(ExitCode.OK))


@app.command()
def clear() -> None:
    """Remove every stored verdict."""
    from gradcheck.cache import Cache, directory

    removed = Cache(directory()).clear()
    typer.echo(f"removed {removed} verdicts from {directory()}")
    raise typer.Exit(int(ExitCode.OK))
