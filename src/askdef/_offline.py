"""Offline, quiet defaults for the libraries askdef imports: nothing they do reaches the
network or a file outside askdef's own folders.

They must be in place before transformers, huggingface_hub, chromadb, gradio or openvino are
imported; a user's own setting always wins. ``tests/test_offline.py`` runs index, ask, serve
and eval and fails on any look-up or connection that is not loopback.
"""

import os
import sys

_DEFAULTS = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    # torch's and llama.cpp's OpenMP pools otherwise busy-wait and fight over the cores.
    "OMP_WAIT_POLICY": "PASSIVE",
}

for _name, _value in _DEFAULTS.items():
    os.environ.setdefault(_name, _value)

# `import openvino` (the default embedding runtime) sends a usage event to Google Analytics from
# a forked child and writes ~/intel/openvino_ga_cid and ~/intel/stats, unless the file
# ~/intel/openvino_telemetry says "0"; openvino_telemetry reads no environment variable. When
# that package cannot be imported, OpenVINO uses its own no-op stub: so askdef makes it
# unimportable (None in sys.modules, which typeshed does not allow for), unless the program
# imported it before askdef.
sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]
