"""The pure incident model: no I/O, no clock, no environment. Importable by every package."""
