"""The public results of a consultation: laureates, answers, ranking, charts, the catalogue of laureate services."""
