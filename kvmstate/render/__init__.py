"""Renderers: a plan or a state as text for people or JSON for machines.

Rendering is separate from planning: renderers only read `Plan` and `State`.
"""
