"""Every step kind validates, using the examples of the BayerCLAW documentation (tests/specs/valid)."""

from pathlib import Path

import pytest

from specs.workflow.model import (
    Branch,
    ChooserStep,
    CommandStep,
    NativeStep,
    ParallelStep,
    ScatterStep,
    SubpipeStep,
    iter_steps,
    load_workflow,
    step_order,
)
from tasks.bclaw.substitution import job_data_resolver, substitute

VALID = Path(__file__).parent / "valid"


def by_name(wf):
    return {s.name: s for s in iter_steps(wf.steps)}


def test_hello_world():
    wf = load_workflow(VALID / "hello.yaml")
    assert wf.name == "hello"
    assert wf.source == (VALID / "hello.yaml").absolute()
    assert wf.transform == "BC2_Compiler"
    assert wf.repository == "s3://example-bucket/hello-world/${job.SAMPLE_ID}"
    (step,) = wf.steps
    assert isinstance(step, CommandStep) and step.kind == "command"
    assert step.image.name == "docker.io/library/ubuntu" and step.image.auth is None
    assert step.commands == ['echo "Hello world! This is job ${job.SAMPLE_ID}!"']
    assert step.inputs is None  # auto-inputs


def test_language_sample_workflow():
    wf = load_workflow(VALID / "sample.yaml")
    assert wf.repository == "s3://my-bucket/two-step/repo/${job.SAMPLE_ID}"  # parameter, trailing / gone
    assert wf.parameter_values == {"myBucket": "my-bucket", "blastDb": "uniprot/uniprot.fasta"}
    assert wf.options.shell == "bash"
    steps = by_name(wf)
    assemble, annotate, blast = steps["Assemble"], steps["Annotate"], steps["Blast"]
    assert assemble.inputs == {"reads1": "${job.READS1}", "reads2": "${job.READS2}"}
    assert [q.model_dump() for q in assemble.qc_check] == [
        {"qc_result_file": "contig_qc.json", "stop_early_if": ["n_contigs < 100", "avg_length < 1000"]}]
    assert assemble.skip_on_rerun is True
    assert (assemble.compute.cpus, assemble.compute.memory, assemble.compute.shell) == (4, 40960, "sh-pipefail")
    assert assemble.timeout == 12 * 3600
    assert annotate.inputs is None and annotate.compute.memory == 99
    assert (annotate.retry.attempts, annotate.retry.interval, annotate.retry.backoff_rate) == (2, 60, 2.0)
    assert blast.image.model_dump() == {"name": "ncbi-blast", "auth": "registry-secret"}
    # a parameter in a command is a JSON literal, read as data when the step runs
    assert [substitute(c, job_data_resolver({})) for c in blast.commands] == [
        "blastp -query ${prots} -db /ref_data/uniprot/uniprot.fasta -out raw_output.txt -evalue 1e-10",
        "parse_blast.py raw_output.txt > ${blast_out}",
    ]
    assert [f.model_dump() for f in blast.filesystems] == [
        {"efs_id": "fs-12345678", "host_path": "/ref_data", "root_dir": "/"}]
    assert blast.outputs["blast_out"].model_dump() == {
        "name": "prots_v_uniprot.txt", "dest": "s3://other-bucket/blast/",
        "s3_tags": {"project": "demo", "stage": "3"}}


def test_scatter_tutorial():
    wf = load_workflow(VALID / "scatter.yaml")
    scatter = wf.steps[1]
    assert isinstance(scatter, ScatterStep) and scatter.kind == "scatter"
    assert scatter.scatter == {"sample_index": "@sample_indices.json:$[*]"}
    assert scatter.inputs == {"final_config": "config.json"}
    assert scatter.outputs == {"read1_out": "sample_1_val_1.fq"}
    assert (scatter.max_concurrency, scatter.error_tolerance, scatter.batch_size) == (10, "5%", None)
    assert scatter.tolerated_failures(40) == 2
    (child,) = scatter.steps
    assert isinstance(child, CommandStep) and child.inputs == {"final_config": "${parent.final_config}"}
    assert wf.steps[0].inputs == {}  # explicitly none
    assert step_order(wf.steps) == {"make_config": "trim_all_reads", "trim_all_reads": "count", "count": None}


def test_choosers_and_optional_inputs():
    wf = load_workflow(VALID / "branching.yaml")
    steps = by_name(wf)
    chooser = steps["SimpleChooserStep"]
    assert isinstance(chooser, ChooserStep) and chooser.kind == "chooser"
    assert [(c.condition, c.next) for c in chooser.choices] == [
        ("input1.value1 > 0.5", "Step3"), ("input2.value2 < 0.9", "Step4"), ("job.check_me == 1", "Step5")]
    assert chooser.inputs == {"input1": "file1.json", "input2": "file2.json"}
    assert steps["Step5"].inputs == {"required1": "file1.json", "optional1?": "file2.txt"}
    parallel = steps["ParallelChooserStep"]
    assert isinstance(parallel, ParallelStep) and parallel.kind == "parallel"
    assert [b.condition for b in parallel.branches] == [
        "input1.value1 > 0.5", "math.isclose(input1.value1, 0.7) and re.match('a', 'abc') is not None", None]
    assert [[s.name for s in b.steps] for b in parallel.branches] == [
        ["do_this", "do_that"], ["do_the_other"], ["always_do_this"]]
    order = step_order(wf.steps)
    assert order["SimpleChooserStep"] == "Step2" and order["Step2"] == "Step5" and order["Step3"] is None
    assert isinstance(steps["Done"], NativeStep) and steps["Done"].type == "Succeed"


def test_subpipes():
    wf = load_workflow(VALID / "subpipe.yaml")
    sub = wf.steps[1]
    assert isinstance(sub, SubpipeStep) and sub.kind == "subpipe"
    assert (sub.subpipe, sub.job_data, sub.submit) == ("my-subpipe", "sub_job.json", None)
    assert [(r.src, r.dst) for r in sub.retrieve] == [("filenameX.txt", "filenameY.txt"),
                                                      ("filenameZ.txt", "filenameZ.txt")]
    inner = wf.steps[2].steps[0]
    assert isinstance(inner, SubpipeStep) and inner.job_data is None
    assert [(r.src, r.dst) for r in inner.retrieve] == [("output.bam", "output.bam")]


def test_native_steps_and_lower_case_top_level_keys():
    wf = load_workflow(VALID / "native.yaml")
    assert wf.options.shell == "sh-pipefail" and wf.options.s3_tags == {"project": "demo", "version": "2"}
    steps = by_name(wf)
    assert steps["Start"].type == "Pass" and steps["Start"].spec == {"Result": {"hello": "world"}}
    assert steps["Pause"].spec == {"Seconds": 1}
    assert steps["Broken"].spec == {"Error": "BadThing", "Cause": "it broke"}
    assert steps["Check"].next == "Ok"
    parallel = steps["sample_parallel_step"]
    assert parallel.type == "Parallel" and "Branches" in parallel.spec
    assert all(isinstance(b, Branch) and b.condition is None for b in parallel.branches)
    assert [[s.name for s in b.steps] for b in parallel.branches] == [["DoThis"], ["DoTheOther"]]
    assert steps["DoTheOther"].commands == ["do_the_other"]
    assert step_order(wf.steps)["Check"] == "Ok"


@pytest.mark.parametrize("path", sorted(VALID.glob("*.yaml")), ids=lambda p: p.name)
def test_every_valid_example_round_trips_through_json(path):
    wf = load_workflow(path)
    again = type(wf).model_validate_json(wf.model_dump_json(by_alias=True))
    assert again == wf
