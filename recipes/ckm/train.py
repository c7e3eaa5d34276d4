#!/usr/bin/env python3
"""Heterogeneous digit adaptation by deep clustering (CKM-DA and its DEC / DCN baselines).

    python recipes/ckm/train.py recipes/ckm/hparams/ckm.yaml --task SY2MN-het --seed 1

See README.md beside this file; every choice lives in the hparams file.
"""
import sys

from amls_speech.recipe import main

if __name__ == "__main__":
    main(sys.argv[1:])
