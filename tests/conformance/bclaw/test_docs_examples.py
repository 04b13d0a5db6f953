"""BayerCLAW's documented workflows run unchanged (examples/bayerclaw-docs/, copied verbatim from
README.md, doc/language.md, doc/scatter.md and doc/tutorial.md of BayerCLAW v1.2.8).

One Prefect run per example on the session's server, commands on this host (``local``: images are
not pulled), the bioinformatics tools replaced by the small fakes in ``examples/bayerclaw-docs/bin``
and the buckets the docs read from seeded from each example's ``s3/`` folder.
"""

import json
import shutil
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.usefixtures("prefect_harness")

DOCS = REPO_ROOT / "examples" / "bayerclaw-docs"


def check_readme_hello(storage: Path) -> None:
    assert json.loads((storage / "example-bucket/hello-world/S001/_JOB_DATA_").read_text())["job"] == {
        "SAMPLE_ID": "S001"}


def check_two_step(storage: Path) -> None:
    repo = storage / "my-bucket/two-step/repo/S001"
    assert (repo / "renamed_contigs.fa").read_text().splitlines()[0] == ">renamed_contig_1"
    assert (repo / "annot.faa").read_text() == ">renamed_contig_1_protein\n>renamed_contig_2_protein\n"
    hits = (storage / "output_bucket/blast_results/prots_v_uniprot.txt").read_text()
    assert hits.startswith("hit: renamed_contig_1_protein\t/ref_data/uniprot/uniprot.fasta")


def check_scatter(storage: Path) -> None:
    repo = storage / "sample-bucket/scatter-demo/repo/P1"
    manifest = json.loads((repo / "AssembleAndAnnotate_manifest.json").read_text())
    assert manifest["annots"] == [f"s3://sample-bucket/scatter-demo/repo/P1/AssembleAndAnnotate/0000{i}/annots.gff"
                                  for i in (0, 1)]
    assert (repo / "AssembleAndAnnotate/00001/contigs.fa").read_text() == ">S002_contig\nACGTS002\nTGCAS002\n"
    assert (repo / "results.txt").read_text() == "annotation files: 2\n"


def check_tutorial_hello(storage: Path) -> None:
    assert (storage / "bayerclaw-tutorial/runs/SEQxxxxx/job.json").exists()


def check_parse_config(storage: Path) -> None:
    repo = storage / "bayerclaw-tutorial/runs/SEQxxxxx"
    assert json.loads((repo / "sample_indices.json").read_text()) == [0, 1]
    assert json.loads((repo / "config.json").read_text())["samples"][1]["name"] == "S002"


def check_tutorial_scatter(storage: Path) -> None:
    check_parse_config(storage)
    branch = storage / "bayerclaw-tutorial/runs/SEQxxxxx/trim_all_reads/00001"
    assert (branch / "sample_2_val_2.fq").read_text() == "This is child number 1 writing read 2...\n"


def check_tutorial_gather(storage: Path) -> None:
    check_tutorial_scatter(storage)
    contigs = (storage / "bayerclaw-tutorial/runs/SEQxxxxx/named.contigs.fa").read_text().splitlines()
    assert contigs == [f"This is child number {i} writing read {r}..." for r in (1, 2) for i in (0, 1)]


EXAMPLES = {
    "readme-hello": check_readme_hello,
    "language-hello": check_readme_hello,
    "language-two-step": check_two_step,
    "scatter-assemble-annotate": check_scatter,
    "tutorial-hello": check_tutorial_hello,
    "tutorial-parse-config": check_parse_config,
    "tutorial-scatter": check_tutorial_scatter,
    "tutorial-gather": check_tutorial_gather,
}


def test_every_example_is_listed():
    assert sorted(p.name for p in DOCS.iterdir() if (p / "workflow.yaml").exists()) == sorted(EXAMPLES)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_docs_example_runs_unchanged(name, tmp_path, monkeypatch):
    from flows.workflow import run_workflow

    example = DOCS / name
    storage = tmp_path / "storage"
    if (example / "s3").is_dir():
        shutil.copytree(example / "s3", storage)
    monkeypatch.setenv("PATH", f"{DOCS / 'bin'}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("BAYERCLAW_DOCS_S3_ROOT", str(storage))
    monkeypatch.setenv("LABFLOWS_SCRATCH", str(tmp_path / "scratch"))
    if name == "language-two-step":
        # doc/language.md's Blast step runs `blastp -query ${inputs} ...`, but no input is named
        # `inputs` (the input is `prots`): upstream's shell would stop at the unset variable too.
        monkeypatch.setenv("inputs", "annot.faa")
    state = run_workflow(workflow=str(example / "workflow.yaml"), job_file=str(example / "job.json"),
                         storage=str(storage), return_state=True)
    assert state.is_completed(), state.message
    EXAMPLES[name](storage)
