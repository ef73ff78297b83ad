"""Running agents on backends: one route (``episode``); the matrix, resume and executors build on it."""
