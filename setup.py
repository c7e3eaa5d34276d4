"""amls-speech: domain adaptation of speech classifiers under mismatched label spaces."""

from setuptools import find_packages, setup

# torch and torchaudio are pinned together (torchaudio 2.11 names no torch
# version). `make install` puts torch 2.13.0 in first, the CPU build on this
# machine's disk (0.75 GB installed; PyPI's Linux torch is a CUDA build of about
# 5.5 GB with its libraries, which once filled CI's disk); `make install
# TORCH=torch==2.14.1` takes the CUDA build for a GPU. torchvision is not used.
INSTALL_REQUIRES = [
    "torch>=2.13,<=2.14.1",
    "torchaudio==2.11.0",
    "speechbrain>=1.1.2,<1.2",
    "hyperpyyaml>=1.2,<2",
    "soundfile>=0.12",
    "numpy",
    "scipy",
    "espeakng-loader==0.2.4",
    "pyroomacoustics>=0.7",
    "matplotlib>=3.7",
    "scikit-learn>=1.3",
    "scikit-image>=0.22",  # the photos of the embedded mnistm digit domain
    "pillow",
    "tqdm",
    "pyyaml",
]

setup(
    name="amls-speech",
    version="0.1.0",
    description=__doc__,
    long_description=open("README.md").read() if __import__("os").path.exists("README.md") else __doc__,
    long_description_content_type="text/markdown",
    packages=find_packages(include=["amls_speech", "amls_speech.*", "data_prep"]),
    python_requires=">=3.10",
    install_requires=INSTALL_REQUIRES,
    extras_require={"dev": ["pytest>=7", "librosa>=0.10"]},
    entry_points={"console_scripts": ["amls-bench=data_prep.embedded:main", "amls-predict=amls_speech.inference:main"]},
)
