#!/usr/bin/env python3
"""GIMP 3 plug-in: Filters > Artistic > Neural Style Transfer...

GIMP's own Python has no TensorFlow, so this plug-in does no style transfer itself. It
exports the active drawable (or the part of it inside the selection) to a temporary PNG,
runs the ``nstfilter`` command line in *its* environment, follows the CLI's JSON progress
lines on GIMP's progress bar, and loads the result as a new layer above the drawable,
named after the preset, in one undo group. With a selection the new layer gets a mask made
from it, so only the selection is replaced and the original stays underneath.

The dialog offers *Painted* (the preset's optimisation, minutes) or *Fast* (the feed-forward
filter, about a second). Its *Preview* toggle shows the fast result as a temporary layer
above the drawable, redrawn a moment after a setting (the strength slider...) changes, with
undo frozen so it leaves no history; it is removed when the dialog closes.

Nothing in the image changes until the CLI has succeeded; any failure (no CLI, unknown
preset, a CLI error) is returned as an execution error carrying the CLI's one-line message,
which GIMP shows in its message dialog (interactive) or hands to the caller (batch).

Which ``nstfilter`` runs, first match wins:
  1. ``$NSTFILTER_BIN``: a path, or a command line split like a shell would
     (e.g. ``flatpak-spawn --host /home/me/.venv/bin/nstfilter``);
  2. ``nstfilter.json`` beside this file (written by ``nstfilter install-gimp-plugin``)
     or in the user's nstfilter config folder: ``{"command": ["/path/to/nstfilter"]}``;
  3. ``nstfilter`` on PATH.
When that command sees another filesystem than GIMP (a Flatpak GIMP, a chroot), point
``NSTFILTER_TMPDIR`` at a folder both see; the temporary images go there.

Install with ``nstfilter install-gimp-plugin``. Batch use (no display)::

    gimp-console-3.0 -i --batch-interpreter python-fu-eval -b "
    img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path('in.png'))
    proc = Gimp.get_pdb().lookup_procedure('plug-in-nstfilter')
    cfg = proc.create_config()
    cfg.set_property('run-mode', Gimp.RunMode.NONINTERACTIVE)
    cfg.set_property('image', img)
    cfg.set_core_object_array('drawables', img.get_selected_drawables())
    cfg.set_property('preset-name', 'preview')  # checked by the CLI, unlike 'preset'
    proc.run(cfg)
    Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, img, Gio.File.new_for_path('out.png'), None)
    " --quit
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp, Gio, GLib, GObject  # noqa: E402

PROC_NAME = "plug-in-nstfilter"
#: Offered when the CLI cannot be asked for its presets while GIMP registers the plug-in.
FALLBACK_PRESETS = ["preview"]
#: Seconds allowed for ``nstfilter presets list`` while GIMP starts.
LIST_TIMEOUT = 30
#: Variables of GIMP's embedded Python that would break another Python's start-up.
FOREIGN_PYTHON_VARS = ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE")
QUALITY_CHOICES = [
    ("painted", "Painted: the preset's optimisation (minutes)"),
    ("fast", "Fast: the feed-forward filter (about a second)"),
]
#: The preview's longest side (the fast filter at this size takes well under a second).
PREVIEW_SIZE = 512
#: Milliseconds a setting must rest before the preview is redrawn (a slider sends many).
PREVIEW_DELAY_MS = 400
PRESERVE_CHOICES = [
    ("preset", "As the preset says"),
    ("yes", "Keep the photo's colours"),
    ("no", "Take the style's colours"),
]


class NstFailure(Exception):
    """A user-facing failure: its text is what GIMP shows, so it is one clear line."""


# --- finding and running the CLI ---------------------------------------------------------


def _config_files() -> list[str]:
    """Candidate ``nstfilter.json`` files: beside the plug-in, then the user config dir."""
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.platform == "win32":
        user = os.path.join(os.environ.get("LOCALAPPDATA", ""), "nstfilter")
    elif sys.platform == "darwin":
        user = os.path.expanduser("~/Library/Application Support/nstfilter")
    else:
        base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
        user = os.path.join(base, "nstfilter")
    return [os.path.join(here, "nstfilter.json"), os.path.join(user, "nstfilter.json")]


def find_cli() -> list[str]:
    """The command (argv prefix) that runs nstfilter, or NstFailure saying where we looked."""
    value = os.environ.get("NSTFILTER_BIN", "").strip()
    if value:
        # A path with spaces must not be split; anything else may be a wrapper command.
        command = [value] if os.path.exists(value) else shlex.split(value)
        if shutil.which(command[0]) is None:
            raise NstFailure(f"NSTFILTER_BIN is set to {value!r}, but {command[0]!r} cannot be run")
        return command
    for path in _config_files():
        if not os.path.isfile(path):
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                command = json.load(handle)["command"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise NstFailure(f"cannot read {path}: {exc}") from None
        if isinstance(command, str):
            command = [command]
        if not command or shutil.which(command[0]) is None:
            raise NstFailure(
                f"{path} names {command!r}, which cannot be run; "
                "run 'nstfilter install-gimp-plugin' again or set NSTFILTER_BIN"
            )
        return [str(part) for part in command]
    found = shutil.which("nstfilter")
    if found:
        return [found]
    raise NstFailure(
        "the nstfilter command was not found: install nstfilter and run "
        "'nstfilter install-gimp-plugin', or set NSTFILTER_BIN to its path"
    )


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_PYTHON_VARS}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: have the kernel SIGTERM the CLI when this plug-in dies.

    GIMP's Cancel button kills the plug-in process outright (no Python code runs), so
    without this the CLI would go on burning CPU for minutes.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except Exception:  # noqa: BLE001 - best effort; never block the start
        pass


def list_presets() -> list[str]:
    """Installed preset names from the CLI, or the fallback when it cannot be asked."""
    try:
        command = find_cli()
        result = subprocess.run(
            [*command, "presets", "list", "--names"],
            capture_output=True,
            text=True,
            timeout=LIST_TIMEOUT,
            env=_child_env(),
            stdin=subprocess.DEVNULL,
        )
    except (NstFailure, OSError, subprocess.SubprocessError):
        return list(FALLBACK_PRESETS)
    names = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    if result.returncode != 0 or not names:
        return list(FALLBACK_PRESETS)
    return names


def cli_arguments(settings: dict, source: str, target: str) -> list[str]:
    """The ``nstfilter apply`` arguments for the dialog's settings.

    Negative strength and zero size/iterations mean "as the preset says": the preset (and,
    behind it, nstfilter's StyleParams) stays the one source of defaults.
    """
    args = ["apply", source, "-o", target, "--progress", "json", "-q"]
    args += ["--preset", settings["preset"]]
    if settings.get("style"):
        args += ["--style", settings["style"]]
    if settings.get("strength", -1) >= 0:
        args += ["--strength", f"{settings['strength']:.4g}"]
    preserve = settings.get("preserve_colors", "preset")
    if preserve == "yes":
        args.append("--preserve-color")
    elif preserve == "no":
        args.append("--no-preserve-color")
    if settings.get("size", 0) > 0:
        args += ["--size", str(settings["size"])]
    if settings.get("quality") == "fast":
        args += ["--quality", "fast"]  # iterations mean nothing to it
    elif settings.get("iterations", 0) > 0:
        args += ["--iterations", str(settings["iterations"])]
    return args


def preview_settings(settings: dict) -> dict:
    """What the Preview toggle runs: the same settings through the fast filter, at most
    :data:`PREVIEW_SIZE` px (the layer is scaled to the region like any result)."""
    size = settings.get("size", 0)
    return {
        **settings,
        "quality": "fast",
        "size": min(size, PREVIEW_SIZE) if size > 0 else PREVIEW_SIZE,
    }


def progress_text(event: dict) -> str:
    """The progress bar's text for one JSON progress event."""
    if int(event.get("total") or 1) <= 1 and int(event.get("scales") or 1) <= 1:
        return "Neural style transfer: fast filter"
    return "Neural style transfer: scale {}/{}, step {}/{}".format(
        event.get("scale", 1),
        event.get("scales", 1),
        int(event.get("step") or 0),
        max(int(event.get("total") or 1), 1),
    )


def _error_from_stderr(lines: list[str], code: int) -> str:
    """The CLI's one-line error if it printed one, else its last words and exit code."""
    for line in reversed(lines):
        if line.startswith("nstfilter: error:"):
            return line[len("nstfilter: error:") :].strip()
    tail = [line for line in lines if line.strip()][-3:]
    detail = " | ".join(tail) if tail else "no message"
    return f"the nstfilter command failed (exit code {code}): {detail}"


def run_cli(command: list[str], args: list[str], progress) -> None:
    """Run the CLI, feeding its JSON progress to ``progress(fraction, text)``."""
    kwargs = {}
    if sys.platform.startswith("linux"):
        kwargs["preexec_fn"] = _die_with_parent
    try:
        child = subprocess.Popen(
            [*command, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=_child_env(),
            **kwargs,
        )
    except OSError as exc:
        raise NstFailure(f"cannot start {command[0]}: {exc.strerror or exc}") from None
    other: list[str] = []
    try:
        for line in child.stderr:
            line = line.rstrip("\n")
            event = None
            if line.startswith("{"):
                try:
                    event = json.loads(line)
                except ValueError:
                    event = None
            if isinstance(event, dict) and event.get("event") == "progress":
                total = max(int(event.get("total") or 1), 1)
                step = int(event.get("step") or 0)
                progress(min(step / total, 1.0), progress_text(event))
            elif line:
                other.append(line)
        code = child.wait()
    finally:
        if child.poll() is None:  # left the loop by an exception: do not leave it running
            child.terminate()
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
    if code != 0:
        raise NstFailure(_error_from_stderr(other, code))


# --- the GIMP side ----------------------------------------------------------------------


def _offsets(drawable) -> tuple[int, int]:
    values = drawable.get_offsets()
    return int(values[-2]), int(values[-1])  # (ok, x, y) in GIMP 3.0 Python


def export_region(drawable, x: int, y: int, width: int, height: int, path: str) -> None:
    """Write the drawable's pixels in (x, y, width, height) to ``path`` (PNG), via a
    throw-away image so the user's image, its undo history and its dirty flag stay as they
    are."""
    image = drawable.get_image()
    base = Gimp.ImageBaseType.GRAY if drawable.is_gray() else Gimp.ImageBaseType.RGB
    scratch = Gimp.Image.new(drawable.get_width(), drawable.get_height(), base)
    try:
        scratch.undo_disable()
        layer = Gimp.Layer.new_from_drawable(drawable, scratch)
        scratch.insert_layer(layer, None, 0)
        layer.set_offsets(0, 0)
        if (x, y, width, height) != (0, 0, drawable.get_width(), drawable.get_height()):
            scratch.crop(width, height, x, y)
        profile = image.get_color_profile()
        if profile is not None:
            scratch.set_color_profile(profile)
        ok = Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, scratch, Gio.File.new_for_path(path), None)
        if not ok or not os.path.isfile(path):
            raise NstFailure("could not export the layer to a temporary PNG")
    finally:
        scratch.delete()


def add_result_layer(image, drawable, path: str, name: str, region, selection: bool):
    """Load ``path`` as a new layer over ``region`` of ``drawable``, in one undo group.

    If anything fails half-way the new layer is removed again: the image is either styled
    or exactly as it was.
    """
    x, y, width, height = region
    layer, inserted = None, False
    image.undo_group_start()
    try:
        layer = Gimp.file_load_layer(
            Gimp.RunMode.NONINTERACTIVE, image, Gio.File.new_for_path(path)
        )
        if layer is None:
            raise NstFailure("could not load the styled image back into GIMP")
        layer.set_name(name)
        parent = drawable.get_parent()
        image.insert_layer(layer, parent, image.get_item_position(drawable))
        inserted = True
        if layer.get_width() != width or layer.get_height() != height:
            layer.scale(width, height, False)  # the CLI works at --size; fit the region
        ox, oy = _offsets(drawable)
        layer.set_offsets(ox + x, oy + y)
        if selection:
            layer.add_mask(layer.create_mask(Gimp.AddMaskType.SELECTION))
    except Exception:
        if inserted:
            image.remove_layer(layer)
        elif layer is not None:
            layer.delete()
        raise
    finally:
        image.undo_group_end()
    return layer


def style_transfer(image, drawable, settings: dict, progress) -> object:
    """The whole filter; raises NstFailure with a user-facing message on any failure."""
    if not isinstance(drawable, Gimp.Layer) or isinstance(drawable, Gimp.LayerMask):
        raise NstFailure("select a layer (not a channel or mask) to style")
    if drawable.is_indexed():
        raise NstFailure("indexed images are not supported: use Image > Mode > RGB first")
    command = find_cli()
    selection = not Gimp.Selection.is_empty(image)
    if selection:
        values = drawable.mask_intersect()
        if not values[0]:
            raise NstFailure("the selection does not touch the active layer")
        x, y, width, height = (int(v) for v in values[1:5])
    else:
        x, y, width, height = 0, 0, drawable.get_width(), drawable.get_height()
    # NSTFILTER_TMPDIR: a folder both sides see when the CLI lives in another filesystem
    # view than GIMP (Flatpak with flatpak-spawn --host, a chroot as in the tests).
    workdir = tempfile.mkdtemp(prefix="nstfilter-gimp-", dir=os.environ.get("NSTFILTER_TMPDIR"))
    try:
        source = os.path.join(workdir, "content.png")
        target = os.path.join(workdir, "styled.png")
        export_region(drawable, x, y, width, height, source)
        run_cli(command, cli_arguments(settings, source, target), progress)
        if not os.path.isfile(target):
            raise NstFailure("the nstfilter command wrote no image")
        name = settings["preset"]
        if settings.get("style"):
            name = os.path.splitext(os.path.basename(settings["style"]))[0]
        if settings.get("quality") == "fast":
            name += " (fast)"
        return add_result_layer(image, drawable, target, name, (x, y, width, height), selection)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class LivePreview:
    """The dialog's Preview toggle: the fast result as a temporary layer over the drawable.

    Redrawn :data:`PREVIEW_DELAY_MS` after the last change of a setting (a moving slider
    sends a stream of them), removed when the toggle is off or the dialog closes. Undo is
    frozen around every change, so the preview leaves nothing in the image's history."""

    def __init__(self, image, drawable, config) -> None:
        self.image, self.drawable, self.config = image, drawable, config
        self.layer = None
        self.pending = None
        self.error = None  # the last failure's one line (shown once, in the status bar)

    def schedule(self, *_args) -> None:
        if self.pending is not None:
            GLib.source_remove(self.pending)
        self.pending = GLib.timeout_add(PREVIEW_DELAY_MS, self.refresh)

    def refresh(self) -> bool:
        self.pending = None
        self.clear()
        if self.config.get_property("preview"):
            settings = preview_settings(_settings(self.config))
            self.image.undo_freeze()
            try:
                self.layer = style_transfer(self.image, self.drawable, settings, _no_progress)
                self.error = None
            except NstFailure as exc:
                if str(exc) != self.error:
                    Gimp.message(f"nstfilter preview: {exc}")
                self.error = str(exc)
            finally:
                self.image.undo_thaw()
        Gimp.displays_flush()
        return False  # a one-shot GLib timeout

    def clear(self) -> None:
        if self.pending is not None:
            GLib.source_remove(self.pending)
            self.pending = None
        if self.layer is not None:
            self.image.undo_freeze()
            try:
                self.image.remove_layer(self.layer)
            finally:
                self.image.undo_thaw()
            self.layer = None
            Gimp.displays_flush()


def _no_progress(fraction: float, text: str) -> None:
    """The preview runs while the dialog is open: no progress bar."""


def _settings(config) -> dict:
    style = config.get_property("style")
    # A choice argument silently falls back to its default for an unknown name (GLib only
    # warns), so a batch caller who needs a precise preset passes it as preset-name, where
    # the CLI checks it and a typo becomes an error instead of a different picture.
    other = (config.get_property("preset-name") or "").strip()
    return {
        "preset": other or config.get_property("preset"),
        "style": style.get_path() if style is not None else None,
        "strength": config.get_property("strength"),
        "preserve_colors": config.get_property("preserve-colors"),
        "size": config.get_property("size"),
        "iterations": config.get_property("iterations"),
        "quality": config.get_property("quality"),
    }


def _progress(fraction: float, text: str) -> None:
    Gimp.progress_set_text(text)
    Gimp.progress_update(fraction)


class NstFilter(Gimp.PlugIn):
    """Registers the procedure and runs it; see the module docstring."""

    def do_query_procedures(self):
        return [PROC_NAME]

    def do_set_i18n(self, name):
        return False

    def do_create_procedure(self, name):
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, self.run, None)
        procedure.set_image_types("RGB*, GRAY*")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
        procedure.set_menu_label("Neural Style _Transfer...")
        procedure.add_menu_path("<Image>/Filters/Artistic")
        procedure.set_documentation(
            "Neural style transfer (Gatys et al.) with the nstfilter command",
            "Paints the active layer (or the selection) in the style of a preset's or your own "
            "style image, as a new layer above it. Runs the external 'nstfilter' command "
            "($NSTFILTER_BIN, the path recorded by 'nstfilter install-gimp-plugin', or PATH).",
            name,
        )
        procedure.set_attribution("nstfilter authors", "nstfilter authors", "2025")

        presets = Gimp.Choice.new()
        names = list_presets()
        for index, preset in enumerate(names):
            presets.add(preset, index, preset, "")
        default = "preview" if "preview" in names else names[0]
        procedure.add_choice_argument(
            "preset", "_Preset", "Installed nstfilter preset", presets, default,
            GObject.ParamFlags.READWRITE,
        )  # fmt: skip
        procedure.add_string_argument(
            "preset-name", "Other preset _name",
            "Any preset name, overrides the list (e.g. one added after GIMP started)",
            "", GObject.ParamFlags.READWRITE,
        )  # fmt: skip
        procedure.add_file_argument(
            "style", "St_yle image", "Style image; overrides the preset's (optional)",
            Gimp.FileChooserAction.OPEN, True, None, GObject.ParamFlags.READWRITE,
        )  # fmt: skip
        procedure.add_double_argument(
            "strength", "Stren_gth", "Blend with the photo, 0..1; negative: the preset's",
            -1.0, 1.0, -1.0, GObject.ParamFlags.READWRITE,
        )  # fmt: skip
        colours = Gimp.Choice.new()
        for index, (nick, label) in enumerate(PRESERVE_CHOICES):
            colours.add(nick, index, label, "")
        procedure.add_choice_argument(
            "preserve-colors", "Preser_ve colours", "Keep the photo's colours",
            colours, "preset", GObject.ParamFlags.READWRITE,
        )  # fmt: skip
        procedure.add_int_argument(
            "size", "Si_ze", "Longest side in pixels while styling; 0: the preset's",
            0, 8192, 0, GObject.ParamFlags.READWRITE,
        )  # fmt: skip
        procedure.add_int_argument(
            "iterations", "_Iterations", "Optimiser steps (Painted); 0: the preset's",
            0, 100000, 0, GObject.ParamFlags.READWRITE,
        )  # fmt: skip
        qualities = Gimp.Choice.new()
        for index, (nick, label) in enumerate(QUALITY_CHOICES):
            qualities.add(nick, index, label, "")
        procedure.add_choice_argument(
            "quality", "_Quality", "Painted (the preset's optimisation) or Fast",
            qualities, "painted", GObject.ParamFlags.READWRITE,
        )  # fmt: skip
        procedure.add_boolean_argument(
            "preview", "Previe_w", "Show the fast filter's result while the settings change",
            False, GObject.ParamFlags.READWRITE,
        )  # fmt: skip
        return procedure

    def run(self, procedure, run_mode, image, drawables, config, data):
        if len(drawables) != 1:
            return self._fail(procedure, "select exactly one layer to style")
        if run_mode == Gimp.RunMode.INTERACTIVE:
            gi.require_version("GimpUi", "3.0")
            from gi.repository import GimpUi

            GimpUi.init("nstfilter")
            dialog = GimpUi.ProcedureDialog.new(procedure, config, "Neural Style Transfer")
            dialog.fill(None)
            preview = LivePreview(image, drawables[0], config)
            handler = config.connect("notify", preview.schedule)
            try:
                accepted = dialog.run()
            finally:
                config.disconnect(handler)
                preview.clear()
                dialog.destroy()
            if not accepted:
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, None)
        Gimp.progress_init("Neural style transfer")
        try:
            style_transfer(image, drawables[0], _settings(config), _progress)
        except NstFailure as exc:
            return self._fail(procedure, str(exc))
        finally:
            Gimp.progress_end()
        Gimp.displays_flush()
        return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, None)

    @staticmethod
    def _fail(procedure, message: str):
        error = GLib.Error(f"nstfilter: {message}")
        return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, error)


if __name__ == "__main__":
    Gimp.main(NstFilter.__gtype__, sys.argv)
