"""`csctl crd`: print the CustomResourceDefinition generated from the api/ models (`make crd` saves it)."""

from __future__ import annotations

import click

from api.crd import crd_yaml


@click.command(name="crd")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the CRD to this file instead of standard output.",
)
def crd(*, output: str | None) -> None:
    """Print the PerconaServerMySQLClusterSet CRD (apiextensions.k8s.io/v1) as YAML."""
    text = crd_yaml()
    if output is None:
        click.echo(text, nl=False)
        return
    with open(output, "w", encoding="utf-8") as f:
        f.write(text)
