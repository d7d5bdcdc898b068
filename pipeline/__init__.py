"""remiss-stance: stance analysis of Swedish consultation responses (remissvar)."""

__version__ = "0.1.0"
