#!/usr/bin/env python3
"""Microphone adaptation of a keyword classifier (Mic2Mic, M->R and U->M).

    python recipes/microphone/train.py recipes/microphone/hparams/amls.yaml --task U2M

See README.md beside this file; every choice lives in the hparams file.
"""
import sys

from amls_speech.recipe import main

if __name__ == "__main__":
    main(sys.argv[1:])
