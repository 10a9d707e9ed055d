"""Neural-network modules: thin wrappers over :mod:`kisonet.nn.functional`."""

from . import functional, init
from .module import Module, ModuleDict, ModuleList, Parameter, Sequential
