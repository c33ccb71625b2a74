"""Evaluation: scores, metrics, classical baselines, reports and figures, saliency."""
