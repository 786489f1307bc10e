"""The CueWorker plan (pipeline/worker_plan.py): sized per node, decoders kept, refusals clear."""

import pytest

from physllm.errors import PhysllmError
from physllm.pipeline.worker_plan import Node, plan_workers


def nodes(*shapes):
    return [Node(f"node{i}" + "0" * 8, f"10.0.0.{i}", cpus, gpus) for i, (cpus, gpus) in enumerate(shapes)]


def per_node(plan):
    counts = {}
    for p in plan.workers:
        counts.setdefault(p.node_id[:5], []).append(p.num_cpus)
    return counts


def test_three_one_cpu_nodes_get_a_worker_and_a_decoder_each():
    plan = plan_workers(nodes((1, 0), (1, 0), (1, 0)), None, 0.0, 0.5)
    assert per_node(plan) == {"node0": [0.5], "node1": [0.5], "node2": [0.5]}
    assert plan.decoder_slots == 3 and all(p.threads == 1 for p in plan.workers)


def test_three_two_cpu_nodes_keep_a_decoder_on_each():
    plan = plan_workers(nodes((2, 0), (2, 0), (2, 0)), None, 0.0, 0.5)
    assert per_node(plan) == {f"node{i}": [0.75, 0.75] for i in range(3)}
    assert plan.decoder_slots == 3


def test_one_local_node_keeps_the_single_machine_plan():
    plan = plan_workers(nodes((2, 0)), None, 0.0, 0.5)
    assert [p.num_cpus for p in plan.workers] == [0.75, 0.75] and plan.decoder_slots == 1


def test_asked_workers_spread_over_unequal_nodes():
    plan = plan_workers(nodes((8, 0), (2, 0)), 6, 0.0, 0.5)
    counts = per_node(plan)
    assert len(counts["node0"]) == 5 and len(counts["node1"]) == 1
    assert all(sum(cpus) <= node_cpus - 0.5 for cpus, node_cpus in ((counts["node0"], 8), (counts["node1"], 2)))


def test_gpu_workers_go_where_the_gpus_are():
    plan = plan_workers(nodes((4, 0), (4, 2), (4, 1)), None, 1.0, 0.5)
    assert [p.node_id[:5] for p in plan.workers].count("node1") == 2
    assert [p.node_id[:5] for p in plan.workers].count("node2") == 1
    assert all(p.num_gpus == 1.0 and p.num_cpus == 1.0 for p in plan.workers)


@pytest.mark.parametrize("shapes, workers, gpus, decode, message", [
    (((2, 0), (2, 0)), None, 1.0, 0.5, "asking 1 GPU each"),
    (((4, 1),), 2, 1.0, 0.5, r"2 CueWorker\(s\) asking 1 GPU each"),
    (((1, 0), (1, 0)), None, 0.0, 2.0, "a decoder asks 2 CPU"),
    (((1, 0),), None, 0.0, 1.0, "no node has more than that"),
])
def test_a_plan_that_cannot_be_placed_is_refused_with_what_was_asked_and_found(shapes, workers, gpus, decode,
                                                                               message):
    with pytest.raises(PhysllmError, match=message) as error:
        plan_workers(nodes(*shapes), workers, gpus, decode)
    assert "Nodes found: 10.0.0.0" in str(error.value)


def test_the_plan_summary_names_each_node_and_the_decoders():
    plan = plan_workers(nodes((2, 0), (1, 0)), None, 0.0, 0.5)
    assert plan.summary() == ("3 CueWorker(s) (node0000: 2 × {'CPU': 0.75}; node1000: 1 × {'CPU': 0.5}), "
                              "2 decoder(s) at once")
