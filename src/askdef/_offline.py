"""Offline, quiet defaults for the libraries askdef imports.

They must be in the environment before transformers, huggingface_hub, chromadb or gradio are
imported; a user's own setting always wins.
"""

import os

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
