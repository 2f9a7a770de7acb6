"""Prices and context windows: the map (`data`), what tokens cost (`costs`), the cost table (`render`)."""
