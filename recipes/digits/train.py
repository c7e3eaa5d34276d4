#!/usr/bin/env python3
"""Digit adaptation (the DANN paper's Table 1 pairs on the embedded digit domains).

    python recipes/digits/train.py recipes/digits/hparams/dann.yaml --task MN2MM --seed 1

See README.md beside this file; every choice lives in the hparams file.
"""
import sys

from amls_speech.recipe import main

if __name__ == "__main__":
    main(sys.argv[1:])
