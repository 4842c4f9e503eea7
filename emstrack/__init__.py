"""emstrack: self-hostable track & trace for EMS and every UPU S10 postal item."""

__version__ = "0.1.0"
