"""A library error about an argument, as the app says it: by its control's label, not the API's name."""
from eqviz.app.jobs import run_body
from eqviz.app.panel import JobHandle
from eqviz.networks import load_generator


def test_a_jobs_argument_error_names_the_apps_control(reference_dir):
    from eqviz.metrics.equivariance.run import compute_equivariance

    G = load_generator(reference_dir / "pkl" / "sg3t_64.pkl")
    outcome = run_body("equivariance", lambda handle: compute_equivariance(G, num_samples=0), JobHandle("equivariance"))
    assert outcome.error == "samples must be at least 1, got 0"
    outcome = run_body("equivariance", lambda handle: compute_equivariance(G, batch_size=0), JobHandle("equivariance"))
    assert outcome.error == "batch must be at least 1, got 0"


def test_a_sentence_not_starting_with_the_argument_gets_the_label_in_front():
    from eqviz.app.argument_labels import argument_message
    from eqviz.errors import InvalidArgument

    assert argument_message(InvalidArgument("1,000 GB is too much", "max_memory")) == "memory limit: 1,000 GB is too much"
    assert argument_message(InvalidArgument("w or z", "walk_space")) == "walk space: w or z"
