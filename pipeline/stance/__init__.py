"""Stance classification of (target, paragraph) pairs: data, backbones, training, prediction, baselines."""
