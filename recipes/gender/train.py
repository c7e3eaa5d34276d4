#!/usr/bin/env python3
"""Gender adaptation of a keyword classifier (Speech Commands, M->F and F->M).

    python recipes/gender/train.py recipes/gender/hparams/amls.yaml --task F2M --seed 1

See README.md beside this file; every choice lives in the hparams file.
"""
import sys

from amls_speech.recipe import main

if __name__ == "__main__":
    main(sys.argv[1:])
