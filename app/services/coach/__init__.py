"""The coach's services: the guideline library (``library``)."""
