"""Backbone selection and weights: offline by default, VGG19 only from disk."""

from __future__ import annotations

import hashlib

import pytest
from helpers import run_cli


@pytest.fixture(scope="module")
def vgg19_file(tmp_path_factory):
    """A VGG19 'notop' weights file in Keras' legacy h5 layout (random values: the real
    80 MB file cannot be downloaded in CI; this exercises the exact loading path)."""
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    path = tmp_path_factory.mktemp("keras") / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
    model = keras.applications.VGG19(include_top=False, weights=None)
    with h5py.File(path, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, model)
    return path


def test_missing_vgg19_gives_one_line_with_the_fix(tmp_path, content_path, style_path):
    env = {"NSTFILTER_VGG19_WEIGHTS": str(tmp_path / "absent.h5")}
    proc = run_cli("apply", str(content_path), "--style", str(style_path), "--backbone",
                   "vgg19", "-o", str(tmp_path / "o.png"), env=env)  # fmt: skip
    assert proc.returncode == 9, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "nstfilter weights fetch vgg19" in lines[0]


@pytest.mark.slow  # builds VGG19 and runs the real engine
def test_auto_picks_vgg19_when_on_disk(tmp_path, vgg19_file, content_path, style_path):
    env = {"NSTFILTER_VGG19_WEIGHTS": str(vgg19_file)}
    proc = run_cli("weights", "list", env=env)
    assert proc.returncode == 0 and "auto -> vgg19" in proc.stdout
    out, metrics = tmp_path / "o.png", tmp_path / "m.json"
    proc = run_cli("apply", str(content_path), "--style", str(style_path), "-o", str(out),
                   "--size", "48", "--iterations", "2", "--scales", "1", "--metrics",
                   str(metrics), env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "backbone: vgg19" in proc.stderr
    assert '"backbone": "vgg19"' in metrics.read_text()
    assert '"content_weight": 10000.0' in metrics.read_text()  # VGG19's calibrated default


def test_auto_falls_back_to_the_bundled_backbone(tmp_path):
    env = {"NSTFILTER_VGG19_WEIGHTS": str(tmp_path / "absent.h5")}
    proc = run_cli("weights", "list", env=env)
    assert proc.returncode == 0 and "auto -> vgg16-hed" in proc.stdout


def test_fetch_downloads_verifies_and_keeps_a_good_copy(tmp_path):
    source = tmp_path / "mirror.h5"
    source.write_bytes(b"pretend weights" * 1000)
    md5 = hashlib.md5(source.read_bytes()).hexdigest()  # noqa: S324
    dest = tmp_path / "w" / "vgg19.h5"
    url = source.as_uri()
    proc = run_cli("weights", "fetch", "vgg19", "--url", url, "--md5", md5, "--dest", str(dest))
    assert proc.returncode == 0, proc.stderr
    assert dest.read_bytes() == source.read_bytes()
    assert f"export NSTFILTER_VGG19_WEIGHTS={dest}" in proc.stdout  # not where lookup looks
    source.write_bytes(b"changed upstream")  # a verified copy is kept, not fetched again
    again = run_cli("weights", "fetch", "vgg19", "--url", url, "--md5", md5, "--dest", str(dest))
    assert again.returncode == 0 and "already present" in again.stdout, again.stderr
    assert dest.read_bytes() == b"pretend weights" * 1000
    bad = run_cli("weights", "fetch", "vgg19", "--url", url, "--md5", "0" * 32,
                  "--dest", str(tmp_path / "other.h5"))  # fmt: skip
    assert bad.returncode == 9 and "checksum mismatch" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "other.h5").exists()


@pytest.mark.slow  # builds VGG19 for its weights file
def test_fetch_and_lookup_agree_on_keras_home(tmp_path, vgg19_file):
    """No --dest: the file lands in $KERAS_HOME/models, exactly where auto looks."""
    md5 = hashlib.md5(vgg19_file.read_bytes()).hexdigest()  # noqa: S324
    env = {"KERAS_HOME": str(tmp_path / "keras"), "NSTFILTER_VGG19_WEIGHTS": ""}
    assert "auto -> vgg16-hed" in run_cli("weights", "list", env=env).stdout
    proc = run_cli("weights", "fetch", "vgg19", "--url", vgg19_file.as_uri(), "--md5", md5,
                   env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    saved = tmp_path / "keras" / "models" / vgg19_file.name
    assert saved.read_bytes() == vgg19_file.read_bytes()
    assert "export" not in proc.stdout  # lookup finds it with no further setting
    assert "auto -> vgg19" in run_cli("weights", "list", env=env).stdout


def test_fetch_network_failure_is_one_line(tmp_path):
    missing = (tmp_path / "nowhere.h5").as_uri()
    proc = run_cli("weights", "fetch", "vgg19", "--url", missing, "--md5", "0" * 32,
                   "--dest", str(tmp_path / "w.h5"))  # fmt: skip
    assert proc.returncode == 9, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "download failed" in lines[0]
    assert not (tmp_path / "w.h5").exists()
