"""Measurements behind the reasons RESULTS.md gives for the targets missed on the CPU.

``python -m benchmarks.probes.small_step`` and ``python -m benchmarks.probes.guards``; each
prints its numbers. Torch only, CPU.
"""
