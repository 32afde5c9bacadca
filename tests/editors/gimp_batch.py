"""Run inside GIMP 3 (python-fu-eval) by the editor tests; not a test module itself.

``SPEC`` (defined by the ``-b`` code before this file is exec'd) names a JSON file:
``input`` image, optional ``mode`` ("gray") / ``alpha`` / ``select`` [x, y, w, h] /
``run_mode`` ("interactive": show the plug-in's dialog), the
plug-in's ``props`` (None: only report the procedure's arguments), and where to write the
``result`` JSON and each layer's pixels (``outdir``).
"""

# ruff: noqa: F821 - SPEC comes from the -b code
import json
import os
import traceback

from gi.repository import Gimp, Gio

NONINTERACTIVE = Gimp.RunMode.NONINTERACTIVE


def export_layer(layer, path):
    """Save one layer's own pixels (mask removed, offsets ignored) as PNG."""
    base = Gimp.ImageBaseType.GRAY if layer.is_gray() else Gimp.ImageBaseType.RGB
    scratch = Gimp.Image.new(layer.get_width(), layer.get_height(), base)
    copy = Gimp.Layer.new_from_drawable(layer, scratch)
    scratch.insert_layer(copy, None, 0)
    copy.set_offsets(0, 0)
    if copy.get_mask() is not None:
        copy.remove_mask(Gimp.MaskApplyMode.DISCARD)
    Gimp.file_save(NONINTERACTIVE, scratch, Gio.File.new_for_path(path), None)
    scratch.delete()


def main(spec):
    out = {}
    image = Gimp.file_load(NONINTERACTIVE, Gio.File.new_for_path(spec["input"]))
    if spec.get("mode") == "gray":
        image.convert_grayscale()
    layer = image.get_layers()[0]
    if spec.get("alpha"):
        layer.add_alpha()
    if spec.get("select"):
        image.select_rectangle(Gimp.ChannelOps.REPLACE, *spec["select"])
    image.clean_all()
    pdb = Gimp.get_pdb()
    proc = pdb.lookup_procedure("plug-in-nstfilter")
    out["registered"] = proc is not None
    if proc is None:
        return out
    out["menu_paths"] = list(proc.get_menu_paths())
    out["arguments"] = [a.name for a in proc.get_arguments()]
    choice = Gimp.param_spec_choice_get_choice(proc.find_argument("preset"))
    out["preset_choices"] = list(choice.list_nicks())
    if spec.get("props") is None:
        return out
    config = proc.create_config()
    interactive = spec.get("run_mode") == "interactive"
    config.set_property("run-mode", Gimp.RunMode.INTERACTIVE if interactive else NONINTERACTIVE)
    config.set_property("image", image)
    config.set_core_object_array("drawables", [layer])
    for name, value in spec["props"].items():
        if name == "style":
            value = Gio.File.new_for_path(value)
        config.set_property(name, value)
    result = proc.run(config)
    out["status"] = result.index(0).value_nick
    out["error"] = pdb.get_last_error()
    out["dirty"] = image.is_dirty()
    out["layers"] = []
    for index, item in enumerate(image.get_layers()):
        path = os.path.join(spec["outdir"], f"layer-{index}.png")
        export_layer(item, path)
        offsets = item.get_offsets()
        out["layers"].append(
            {
                "name": item.get_name(),
                "width": item.get_width(),
                "height": item.get_height(),
                "offsets": [offsets[-2], offsets[-1]],
                "mask": item.get_mask() is not None,
                "gray": item.is_gray(),
                "alpha": item.has_alpha(),
                "png": path,
            }
        )
    return out


with open(SPEC) as handle:
    SPEC_DATA = json.load(handle)
try:
    RESULT = main(SPEC_DATA)
except Exception:  # noqa: BLE001 - reported to the test, which fails with it
    RESULT = {"exception": traceback.format_exc()}
with open(SPEC_DATA["result"], "w") as handle:
    json.dump(RESULT, handle)
