from .lsknet import LSKNet

__all__ = ['LSKNet']
