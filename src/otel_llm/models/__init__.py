"""Trained weights shipped with the package (.npz, no pickle)."""
