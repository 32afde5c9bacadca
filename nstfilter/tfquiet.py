"""Import TensorFlow without its C++ start-up chatter on the user's terminal.

TensorFlow prints CUDA probes straight to fd 2 on import and first use, even without a GPU
and before ``TF_CPP_MIN_LOG_LEVEL`` applies, which breaks one-line errors: fd 2 goes to a
temporary file meanwhile, replayed if the import fails (``NSTFILTER_TF_LOGS=1`` shows all).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading

_lock = threading.Lock()


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and initialise its CPU device with stderr captured (once)."""
    with _lock:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        if os.environ.get("NSTFILTER_TF_LOGS") or "tensorflow" in sys.modules:
            import tensorflow  # noqa: F401

            return
        sys.stderr.flush()
        saved = os.dup(2)
        with tempfile.TemporaryFile() as capture:
            os.dup2(capture.fileno(), 2)
            try:
                import tensorflow as tf

                tf.constant(0.0) + 1.0  # first op: device discovery prints here
            except BaseException:
                os.dup2(saved, 2)
                capture.seek(0)
                sys.stderr.write(capture.read().decode(errors="replace"))
                raise
            finally:
                os.dup2(saved, 2)
                os.close(saved)
