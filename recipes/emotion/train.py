#!/usr/bin/env python3
"""Dataset adaptation of an emotion classifier (CREMA-D -> RAVDESS).

    python recipes/emotion/train.py recipes/emotion/hparams/amls.yaml --seed 1

See README.md beside this file; every choice lives in the hparams file.
"""
import sys

from amls_speech.recipe import main

if __name__ == "__main__":
    main(sys.argv[1:])
