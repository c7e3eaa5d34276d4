"""One ``speechbrain.core.Brain`` per adaptation method."""

from amls_speech.brains.adda import ADDA
from amls_speech.brains.amls import AMLS
from amls_speech.brains.ba3us import BA3US
from amls_speech.brains.base import AdaptationBrain
from amls_speech.brains.clustering import DeepClustering
from amls_speech.brains.dann import DANN
from amls_speech.brains.isra import BA3USISRA, ISRA, isra_brain
from amls_speech.brains.pada import PADA
from amls_speech.brains.source_only import SourceOnly
from amls_speech.brains.uan import UAN

__all__ = ["AdaptationBrain", "SourceOnly", "DANN", "ADDA", "UAN", "AMLS", "DeepClustering", "PADA", "ISRA", "BA3US",
           "BA3USISRA", "isra_brain"]
