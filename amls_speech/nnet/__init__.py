"""Networks: feature extractors, classifier, decoder, discriminators, gradient reversal, ISRA's class2vec and receptors."""

from amls_speech.nnet.classifier import Classifier
from amls_speech.nnet.decoder import ConvDecoder
from amls_speech.nnet.discriminator import Discriminator
from amls_speech.nnet.extractor import CNNExtractor
from amls_speech.nnet.grl import GradientReversal, grad_reverse
from amls_speech.nnet.init import kaiming_init
from amls_speech.nnet.semantic import Class2Vec, TopicReceptors

__all__ = ["CNNExtractor", "Classifier", "ConvDecoder", "Discriminator", "GradientReversal", "grad_reverse", "kaiming_init",
           "Class2Vec", "TopicReceptors"]
