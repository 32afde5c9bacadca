"""The G'MIC filter, run by the real ``gmic`` (Debian trixie's) in the editors chroot."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from helpers.editors import REPO, Chroot, assert_styled_like, cli_env, pixels

from nstfilter.cli.editors import install_gmic_filter

pytestmark = pytest.mark.editors


def install_gmic(*args: str) -> str:
    """``nstfilter install-gmic-filter ARGS`` (invoked on the command object, so it works
    whether or not the CLI group lists it)."""
    result = CliRunner().invoke(install_gmic_filter, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="session")
def gmic_file(chroot: Chroot, editors_workdir: Path) -> Path:
    """The filter file, copied by ``install-gmic-filter --dest`` into the work dir."""
    folder = editors_workdir / "gmic"
    install_gmic("--dest", str(folder))
    return folder / "nstfilter.gmic"


def gmic(
    chroot: Chroot, gmic_file: Path, args: list[str], nstfilter_bin: str | None, label: str
) -> subprocess.CompletedProcess:
    env = cli_env()
    env["NSTFILTER_TMPDIR"] = str(gmic_file.parent)  # seen by gmic and by the CLI
    if nstfilter_bin:
        env["NSTFILTER_BIN"] = nstfilter_bin
    return chroot.run(["gmic", "-m", str(gmic_file), *args], env, label=f"G'MIC: {label}")


def test_nstfilter_command_styles_like_the_cli(
    chroot, gmic_file, nstfilter_bin, editors_workdir, content_png, reference_png
) -> None:
    out = editors_workdir / "gmic-styled.png"
    done = gmic(
        chroot,
        gmic_file,
        [str(content_png), "nstfilter", "preview,-1,-1,80", "-o", str(out)],
        nstfilter_bin,
        "nstfilter preview,-1,-1,80",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert pixels(out).shape == (60, 80, 3)
    assert_styled_like(pixels(out), pixels(reference_png), pixels(content_png))
    assert not list(gmic_file.parent.glob("nstfilter[-_]*")), "temporary files left behind"


def test_gui_filter_entry(chroot, gmic_file, nstfilter_bin, editors_workdir, content_png) -> None:
    """G'MIC-Qt's entry point: parameters as the GUI passes them; a grey image stays grey
    and keeps its size although the CLI works at 40 px."""
    grey = editors_workdir / "grey.png"
    out = editors_workdir / "gmic-gui.png"
    # fx_nstfilter preset index, other name, use preset strength, strength, colours, size
    done = gmic(
        chroot,
        gmic_file,
        [str(content_png), "luminance", "-o", str(grey), "fx_nstfilter", '0,"",0,0.5,0,40']
        + ["-o", str(out)],
        nstfilter_bin,
        "fx_nstfilter, grey, strength 0.5, 40 px",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    got = pixels(out)
    assert got.shape == pixels(grey).shape == (60, 80)
    assert np.abs(got - pixels(grey)).mean() > 1


def test_user_file_install_and_gui_definition(
    chroot, editors_workdir, content_png, nstfilter_bin
) -> None:
    """install-gmic-filter adds the filter to G'MIC's user file (keeping the user's own
    commands, once however often it runs); plain ``gmic`` then knows ``nstfilter``, and
    G'MIC's own #@gui parser (the one behind G'MIC-Qt's filter list) reads our entry."""
    home = editors_workdir / "gmic-home"
    home.mkdir()
    user_file = home / ".gmic"  # G'MIC 2.9's $_path_user for this HOME
    user_file.write_text('mine :\n  echo "mine still works"\n')
    for _ in range(2):
        install_gmic("--user-file", str(user_file))
    text = user_file.read_text()
    assert text.count("nstfilter filter (managed") == 1 and text.startswith("mine :")
    # parse_gui reads G'MIC-Qt's filter file: give it ours.
    (home / "gmic").mkdir()
    shutil.copyfile(REPO / "editors" / "gmic" / "nstfilter.gmic", home / "gmic" / "update294.gmic")
    env = {"HOME": str(home)}
    done = chroot.run(
        ["gmic", "mine", "parse_gui", "json,*", "echo_stdout", "{t}"],
        env,
        label="G'MIC: parse_gui",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(done.stdout)
    (category,) = data["categories"]
    assert category["name"] == "Artistic"
    (entry,) = category["filters"]
    assert (entry["name"], entry["command"]) == ("Neural Style Transfer", "fx_nstfilter")
    params = [p for p in entry["parameters"] if "pos" in p]
    assert [p["name"] for p in params] == [
        "Preset", "Other Preset (Name)", "Use Preset's Strength", "Strength", "Colours",
        "Size (0 for Preset's)", "Quality",
    ]  # fmt: skip
    assert [p["pos"] for p in params] == ["1", "2", "3", "4", "5", "6", "7"]
    assert "mine still works" in done.stderr
    # Without -m: the command comes from the user file, and reaches the CLI.
    done = chroot.run(
        ["gmic", str(content_png), "nstfilter", "no-such-preset"],
        {**env, "NSTFILTER_BIN": nstfilter_bin, "NSTFILTER_TMPDIR": str(home)},
        label="G'MIC: user-file command",
    )
    assert done.returncode != 0
    assert "unknown preset 'no-such-preset'" in done.stderr


def run_failing(chroot, gmic_file, content_png, workdir, preset, nstfilter_bin, label):
    """Run the filter inside ``local ... onfail`` as a host does: on error the image must
    come out unchanged; returns (process, output pixels)."""
    out = workdir / f"gmic-{label.replace(' ', '-')}.png"
    args = [str(content_png), "local", "nstfilter", f"{preset},-1,-1,64", "onfail"]
    args += ["echo", "FAILED:${}", "endlocal", "-o", str(out)]
    done = gmic(chroot, gmic_file, args, nstfilter_bin, label)
    assert done.returncode == 0, done.stdout + done.stderr
    return done, pixels(out)


def test_no_cli_found(chroot, gmic_file, editors_workdir, content_png) -> None:
    done, got = run_failing(
        chroot, gmic_file, content_png, editors_workdir, "preview", "/nonexistent/nstfilter",
        "no CLI",
    )  # fmt: skip
    assert "FAILED:" in done.stderr
    assert "nstfilter command was not found" in done.stderr
    assert np.array_equal(got, pixels(content_png))


def test_unknown_preset(chroot, gmic_file, nstfilter_bin, editors_workdir, content_png) -> None:
    done, got = run_failing(
        chroot, gmic_file, content_png, editors_workdir, "no-such-preset", nstfilter_bin,
        "unknown preset",
    )  # fmt: skip
    assert "nstfilter: error: unknown preset 'no-such-preset'" in done.stderr
    assert np.array_equal(got, pixels(content_png))
    assert not list(gmic_file.parent.glob("nstfilter[-_]*")), "temporary files left behind"


def test_cli_crash(chroot, gmic_file, editors_workdir, content_png) -> None:
    fake = editors_workdir / "broken-nstfilter"
    fake.write_text("#!/bin/sh\necho 'Segmentation fault (core dumped)' >&2\nexit 139\n")
    fake.chmod(0o755)
    done, got = run_failing(
        chroot, gmic_file, content_png, editors_workdir, "preview", str(fake), "CLI crash"
    )
    assert "exit code 139" in done.stderr and "Segmentation fault" in done.stderr
    assert np.array_equal(got, pixels(content_png))


def test_preset_name_cannot_inject_shell(chroot, gmic_file, editors_workdir, content_png) -> None:
    """Preset names reach a shell command line, so only plain names pass."""
    marker = editors_workdir / "injected"
    for preset in (f"x'$(touch\\ {marker})'", "x'$(id)'"):
        done, got = run_failing(
            chroot, gmic_file, content_png, editors_workdir, preset, "true", "injection"
        )
        assert "FAILED:" in done.stderr
        assert not marker.exists()
        assert np.array_equal(got, pixels(content_png))
    assert "invalid preset name" in done.stderr


def fake_cli(workdir: Path) -> Path:
    """A stand-in CLI that records its argv and its input folder's mode, and copies the
    photo to the output (so the filter runs to the end without TensorFlow)."""
    fake = workdir / "recording-nstfilter"
    fake.write_text(
        "#!/bin/sh\n"
        f"printf '%s\\n' \"$@\" > {workdir}/argv.txt\n"
        f'stat -c \'%a\' "$(dirname "$2")" > {workdir}/tmpmode.txt\n'
        'cp "$2" "$4"\n'
    )
    fake.chmod(0o755)
    return fake


@pytest.mark.parametrize(
    "args",
    [
        "preview,0;{pwn}>=0,-1,64",  # the "preview,0;w>=0,-1,64"
        "preview,-1,-1,64;{pwn}",
        "preview,-1,1;{pwn},64",
        "preview;{pwn}",
        "preview,0'];run('x\\\\ 0\\\\,{pwn}');t=['1",
        "preview x 0,{pwn}",
    ],
)
def test_arguments_cannot_inject_shell_or_gmic(
    chroot, gmic_file, editors_workdir, content_png, args
) -> None:
    """Every argument is checked as a number or a name before use: none reaches a shell
    (or G'MIC's own parser) as code. ``{pwn}`` is a program that leaves a marker."""
    marker = editors_workdir / "injected"
    marker.unlink(missing_ok=True)
    pwn = editors_workdir / "pwn"
    pwn.write_text(f"#!/bin/sh\ntouch {marker}\n")
    pwn.chmod(0o755)
    fake = fake_cli(editors_workdir)
    out = editors_workdir / "gmic-inject.png"
    cmd = [str(content_png), "local", "nstfilter", args.format(pwn=pwn), "onfail"]
    cmd += ["echo", "FAILED:${}", "endlocal", "-o", str(out)]
    done = gmic(chroot, gmic_file, cmd, str(fake), "injection attempt")
    assert not marker.exists(), done.stdout + done.stderr
    assert "FAILED:" in done.stderr and "invalid" in done.stderr


def test_plain_arguments_reach_the_cli_quoted_via_a_private_folder(
    chroot, gmic_file, editors_workdir, content_png
) -> None:
    fake = fake_cli(editors_workdir)
    out = editors_workdir / "gmic-recorded.png"
    done = gmic(chroot, gmic_file, [str(content_png), "nstfilter", "mosaic,0.25,0,48", "-o",
                str(out)], str(fake), "recorded arguments")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    argv = (editors_workdir / "argv.txt").read_text().splitlines()
    assert argv[0] == "apply" and argv[2] == "-o"
    assert argv[argv.index("--preset") + 1] == "mosaic"
    assert argv[argv.index("--strength") + 1] == "0.25"
    assert argv[argv.index("--size") + 1] == "48" and "--no-preserve-color" in argv
    assert (editors_workdir / "tmpmode.txt").read_text().strip() == "700"
    assert Path(argv[1]).parent.parent == gmic_file.parent  # in NSTFILTER_TMPDIR
    assert not list(gmic_file.parent.glob("nstfilter[-_]*")), "temporary folder left behind"
