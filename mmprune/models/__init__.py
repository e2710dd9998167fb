"""mmprune's model components (registered in ``mmprune.registry.MODELS``)."""
from .backbones import LSKNet

__all__ = ['LSKNet']
